"""Open Images V6 human-verified image-level labels on a class subset."""
import csv
from typing import Dict, List, Tuple

import numpy as np

from mmccr.registry import DATASETS

from .base import MultiLabelDataset
from .files import require_file, resolve

_HEADER = ['ImageID', 'Source', 'LabelName', 'Confidence']
_HINT = 'Prepare Open Images as described in docs/datasets/openimages.md.'
#: Official label files per split, under ``annotations/``.
ANN_FILES = {
    'train': 'oidv6-train-annotations-human-imagelabels.csv',
    'validation': 'validation-annotations-human-imagelabels.csv',
    'test': 'test-annotations-human-imagelabels.csv',
}


def read_class_table(path: str) -> Tuple[List[str], List[str]]:
    """MIDs and display names of a ``LabelName,DisplayName`` csv.

    The format of ``oidv6-class-descriptions.csv`` (header optional); the
    file order is the canonical class order.
    """
    require_file(path, 'Open Images class list', _HINT)
    mids, names = [], []
    with open(path, newline='', encoding='utf-8') as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row or row == ['LabelName', 'DisplayName']:
                continue
            if len(row) != 2 or not row[0].startswith('/m/') and \
                    not row[0].startswith('/g/'):
                raise ValueError(f'{path}:{lineno}: expected "MID,Display '
                                 f'name" (e.g. /m/01g317,Person), got {row}.')
            mids.append(row[0])
            names.append(row[1])
    for what, values in (('MID', mids), ('display name', names)):
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f'{path}: {what}(s) {repeated[:5]} appear more '
                             'than once; class names must be unique (rename '
                             'one of them in the file).')
    return mids, names


@DATASETS.register_module()
class OpenImagesV6(MultiLabelDataset):
    """Open Images V6 with human-verified image-level labels.

    Decisions (CCR does not publish its subset; docs/datasets/openimages.md):

    * classes: those of ``classes_file`` (``MID,DisplayName`` rows, the
      canonical order), written by ``tools/dataset_converters/openimages.py``
      from the trainable classes;
    * images: those with at least one human-verified label (positive or
      negative) among these classes; others are not listed;
    * labels: verified present ``1``, verified absent ``0``, not verified
      ``-1`` (ignored by the losses and metrics). An image verified both
      present and absent for a class (two sources) counts as present.

    Args:
        split (str): ``'train'``, ``'validation'`` or ``'test'``; sets the
            default ``ann_file`` (``annotations/<official csv>``) and image
            folder (``<split>/``).
        classes_file (str): the class subset, relative to ``data_root``.
        **kwargs: see :class:`MultiLabelDataset`.
    """

    def __init__(self,
                 split: str = 'train',
                 classes_file: str = 'annotations/classes.csv',
                 **kwargs) -> None:
        if split not in ANN_FILES:
            raise ValueError(f'split must be one of {tuple(ANN_FILES)}, got '
                             f'{split!r}')
        self.split = split
        self.classes_file = classes_file
        kwargs.setdefault('ann_file', f'annotations/{ANN_FILES[split]}')
        kwargs.setdefault('data_prefix', dict(img_path=split))
        super().__init__(**kwargs)

    def load_annotations(self, ann_file: str) -> Tuple[List[str], List[dict]]:
        """Read the labels csv, keeping the subset's classes."""
        mids, names = read_class_table(
            resolve(self.data_root, self.classes_file))
        column = {m: i for i, m in enumerate(mids)}
        require_file(ann_file, 'Open Images label file', _HINT)
        labels: Dict[str, np.ndarray] = {}
        with open(ann_file, newline='', encoding='utf-8') as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header != _HEADER:
                raise ValueError(f'{ann_file}:1: expected the header '
                                 f'{",".join(_HEADER)}, got {header}.')
            for lineno, row in enumerate(reader, 2):
                if len(row) != 4 or row[3] not in ('0', '1'):
                    raise ValueError(
                        f'{ann_file}:{lineno}: expected "ImageID,Source,'
                        f'LabelName,Confidence" with Confidence 0 or 1, '
                        f'got {row}.')
                c = column.get(row[2])
                if c is None:
                    continue  # a class outside the subset
                image = labels.get(row[0])
                if image is None:
                    image = labels[row[0]] = np.full(len(mids), -1, np.int8)
                image[c] = max(image[c], int(row[3]))
        records = [dict(img_id=i, img_path=f'{i}.jpg', labels=lab)
                   for i, lab in sorted(labels.items())]
        return names, records
