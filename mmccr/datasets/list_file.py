"""A plain list-file format anyone can write."""
import os.path as osp
from typing import List, Sequence, Tuple, Union

import numpy as np

from mmccr.registry import DATASETS

from .base import MultiLabelDataset


def read_class_names(source: Union[str, Sequence[str]]) -> List[str]:
    """Class names from a list or a text file.

    The file has one class per line, either ``name`` or ``name idx`` (the
    LMPT ``*_labels.txt`` form, where the last token is the index).
    """
    if not isinstance(source, str):
        return list(source)
    if not osp.isfile(source):
        raise FileNotFoundError(f'Class-name file {source!r} not found.')
    names = {}
    with open(source) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            head, _, tail = line.rpartition(' ')
            if head and tail.isdigit():
                names[int(tail)] = head
            else:
                names[len(names)] = line
    if sorted(names) != list(range(len(names))):
        raise ValueError(f'{source}: class indices must be 0..N-1 without '
                         f'gaps, got {sorted(names)}')
    return [names[i] for i in range(len(names))]


@DATASETS.register_module()
class MultiLabelListDataset(MultiLabelDataset):
    """Images listed one per line with their positive class indices.

    Each line of ``ann_file`` is ``relative/path.jpg idx idx ...`` (0-based
    indices, space separated; no index means an all-negative image). This is
    the format of LMPT's COCO-LT / VOC-LT lists.

    Args:
        classes (str | Sequence[str]): class names in index order, or a file
            with one name per line (``name`` or ``name idx``).
        **kwargs: see :class:`MultiLabelDataset`.
    """

    def __init__(self, classes: Union[str, Sequence[str]], **kwargs) -> None:
        self.classes_source = classes
        super().__init__(**kwargs)

    def load_annotations(self, ann_file: str) -> Tuple[List[str], List[dict]]:
        """Parse the list file."""
        source = self.classes_source
        if isinstance(source, str) and not osp.isabs(source) and \
                self.data_root:
            source = osp.join(self.data_root, source)
        classes = read_class_names(source)
        if not osp.isfile(ann_file):
            raise FileNotFoundError(f'List file {ann_file!r} not found.')
        records = []
        with open(ann_file) as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                labels = np.zeros(len(classes), np.int8)
                for token in parts[1:]:
                    if not token.isdigit() or int(token) >= len(classes):
                        raise ValueError(
                            f'{ann_file}:{lineno}: class index {token!r} is '
                            f'not an integer in 0..{len(classes) - 1}.')
                    labels[int(token)] = 1
                records.append(
                    dict(img_id=parts[0], img_path=parts[0], labels=labels))
        return classes, records
