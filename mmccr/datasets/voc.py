"""PASCAL VOC image-level labels from the devkit's XML or ImageSets files."""
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Tuple

import numpy as np

from mmccr.registry import DATASETS

from .base import MultiLabelDataset
from .files import numbered_lines, read_lines, resolve

#: The 20 VOC classes in the devkit's (alphabetical) order.
VOC_CLASSES = (
    'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat',
    'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person',
    'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')
#: Names used in prompts: the three run-together names split into words.
VOC_PROMPT_NAMES = tuple({
    'diningtable': 'dining table', 'pottedplant': 'potted plant',
    'tvmonitor': 'tv monitor'
}.get(c, c) for c in VOC_CLASSES)

_DIFFICULT = ('auto', 'negative', 'ignore', 'positive')


@DATASETS.register_module()
class VOC2007(MultiLabelDataset):
    """PASCAL VOC 2007 (``data_root`` = ``VOCdevkit/VOC2007``).

    An image is positive for a class when it has a non-difficult object of
    it. An image whose only objects of a class are marked ``difficult`` is
    labelled by ``difficult``:

    * ``'auto'`` (default, mmccr decision 6): negative (0) in training,
      ignored (-1) in evaluation (``test_mode=True``);
    * ``'negative'``, ``'ignore'`` or ``'positive'`` (DBL / LMPT) always.

    Args:
        split (str): image list ``ImageSets/Main/<split>.txt``:
            ``'trainval'`` (5,011 images), ``'test'`` (4,952), ``'train'``
            or ``'val'``. Defaults to ``'trainval'``; ``ann_file=`` names
            another id list.
        label_source (str): ``'xml'`` (``Annotations/<id>.xml``, default)
            or ``'imagesets'`` (the per-class ``<class>_<split>.txt`` files,
            label 1 / -1 / 0 = difficult only).
        difficult (str): see above.
        ann_dir (str): the XML folder, relative to ``data_root``.
        **kwargs: see :class:`MultiLabelDataset`.
    """

    METAINFO = dict(classes=VOC_CLASSES, prompt_names=VOC_PROMPT_NAMES)
    #: The guide that error messages point to.
    GUIDE = 'docs/datasets/voc2007.md'

    def __init__(self,
                 split: str = 'trainval',
                 label_source: str = 'xml',
                 difficult: str = 'auto',
                 ann_dir: str = 'Annotations',
                 **kwargs) -> None:
        if label_source not in ('xml', 'imagesets'):
            raise ValueError("label_source must be 'xml' or 'imagesets', "
                             f'got {label_source!r}')
        if difficult not in _DIFFICULT:
            raise ValueError(f'difficult must be one of {_DIFFICULT}, got '
                             f'{difficult!r}')
        self.split = split
        self.label_source = label_source
        self.difficult = difficult
        self.ann_dir = ann_dir
        kwargs.setdefault('ann_file', f'ImageSets/Main/{split}.txt')
        kwargs.setdefault('data_prefix', dict(img_path='JPEGImages'))
        super().__init__(**kwargs)

    def hint(self) -> str:
        """How to get missing files, for error messages."""
        return f'Prepare the data as described in {self.GUIDE}.'

    def difficult_label(self) -> int:
        """The label of a difficult-only (image, class) pair."""
        mode = self.difficult
        if mode == 'auto':
            mode = 'ignore' if self.test_mode else 'negative'
        return {'negative': 0, 'ignore': -1, 'positive': 1}[mode]

    def load_annotations(self, ann_file: str) -> Tuple[List[str], List[dict]]:
        """Labels of the ids listed in ``ann_file`` (one id per line)."""
        ids = read_lines(ann_file, 'VOC image list', self.hint())
        if self.label_source == 'xml':
            folder = resolve(self.data_root, self.ann_dir)
            labels = [self.read_xml(osp.join(folder, f'{i}.xml'))
                      for i in ids]
        else:
            labels = self._read_imagesets(ann_file, ids)
        records = [
            dict(img_id=i, img_path=f'{i}.jpg', labels=lab)
            for i, lab in zip(ids, labels, strict=True)
        ]
        return list(VOC_CLASSES), records

    def read_xml(self, path: str) -> np.ndarray:
        """Labels ``(20,)`` of one annotation XML."""
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'VOC annotation {path!r} not found: the image list names '
                f'this image but {osp.dirname(path)} lacks its XML. '
                f'{self.hint()}')
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as err:
            raise ValueError(f'{path} is not valid XML: {err}') from err
        positive, difficult_only = set(), set()
        for obj in root.iter('object'):
            name = (obj.findtext('name') or '').strip()
            if name not in VOC_CLASSES:
                raise ValueError(f'{path}: object name {name!r} is not a VOC '
                                 f'class; expected one of {VOC_CLASSES}.')
            flag = (obj.findtext('difficult') or '0').strip()
            if flag not in ('0', '1'):
                raise ValueError(f'{path}: <difficult> of a {name!r} object '
                                 f"is {flag!r}; expected '0' or '1'.")
            (difficult_only if flag == '1' else positive).add(name)
        labels = np.zeros(len(VOC_CLASSES), np.int8)
        for name in difficult_only - positive:
            labels[VOC_CLASSES.index(name)] = self.difficult_label()
        for name in positive:
            labels[VOC_CLASSES.index(name)] = 1
        return labels

    def _read_imagesets(self, ann_file: str,
                        ids: List[str]) -> List[np.ndarray]:
        """Labels from ``<class>_<list>.txt`` beside the image list."""
        stem = osp.splitext(osp.basename(ann_file))[0]
        table = np.zeros((len(ids), len(VOC_CLASSES)), np.int8)
        row = {i: r for r, i in enumerate(ids)}
        value = {'1': 1, '-1': 0, '0': self.difficult_label()}
        for c, name in enumerate(VOC_CLASSES):
            path = osp.join(osp.dirname(ann_file), f'{name}_{stem}.txt')
            seen: Dict[str, int] = {}
            for lineno, line in numbered_lines(path, 'VOC per-class list',
                                               self.hint()):
                parts = line.split()
                if len(parts) != 2 or parts[1] not in value:
                    raise ValueError(
                        f'{path}:{lineno}: expected "<image id> <1|-1|0>", '
                        f'got {line!r}.')
                if parts[0] not in row:
                    raise ValueError(
                        f'{path}:{lineno}: image {parts[0]!r} is not in '
                        f'{ann_file}.')
                seen[parts[0]] = lineno
                table[row[parts[0]], c] = value[parts[1]]
            if len(seen) != len(ids):
                absent = [i for i in ids if i not in seen]
                raise ValueError(
                    f'{path} has no line for {len(absent)} image(s) of '
                    f'{ann_file} (e.g. {absent[:3]}).')
        return list(table)
