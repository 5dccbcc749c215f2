"""COCO-LT and VOC-LT: DBL's long-tailed multi-label subsets.

Wu et al. (ECCV 2020, "DBL") drew 1,909 COCO-2017 train images (80 classes;
22 head / 33 medium / 25 tail) and 1,142 VOC-2012 trainval images (20
classes; 6 / 6 / 8); the test sets are COCO val2017 and VOC2007 test. DBL
ships the image ids (``img_id.pkl`` — plain text — or ``img_id.txt``),
``class_freq.pkl`` and ``class_split.pkl``. The readers take the labels from
the official annotations of those ids, or from LMPT's list files
(``list_file=``), and the head / medium / tail groups from DBL's
``class_split.pkl`` (read with the restricted unpickler).
"""
import os.path as osp
from typing import Dict, List, Optional, Tuple

from mmccr.registry import DATASETS

from .coco import CocoMultiLabel
from .files import load_pickle, read_lines, resolve, select_ids
from .list_file import read_index_list
from .voc import VOC2007

_SPLITS = ('train', 'test')
_GROUPS = {'head': 'head', 'middle': 'medium', 'tail': 'tail'}


def read_dbl_class_split(path: str, num_classes: int) -> Dict[str, List[int]]:
    """DBL's ``class_split.pkl``: head / medium / tail class indices."""
    split = load_pickle(path, 'DBL class split')
    if not isinstance(split, dict) or set(split) != set(_GROUPS):
        raise ValueError(f'{path}: expected a dict with keys {set(_GROUPS)}, '
                         f'got {type(split).__name__} '
                         f'{sorted(split) if isinstance(split, dict) else ""}')
    groups = {_GROUPS[k]: sorted(int(c) for c in v) for k, v in split.items()}
    every = sorted(c for v in groups.values() for c in v)
    if every != list(range(num_classes)):
        raise ValueError(f'{path}: the head / middle / tail sets must cover '
                         f'the {num_classes} classes exactly once.')
    return groups


def read_dbl_class_freq(path: str, num_classes: int) -> List[int]:
    """DBL's ``class_freq.pkl``: training images per class."""
    freq = load_pickle(path, 'DBL class frequencies')
    counts = freq.get('class_freq') if isinstance(freq, dict) else None
    if counts is None or len(counts) != num_classes:
        raise ValueError(f"{path}: expected a dict whose 'class_freq' has "
                         f'{num_classes} entries.')
    return [int(c) for c in counts]


class _LongTail:
    """What COCO-LT and VOC-LT share: split, DBL files, LMPT lists.

    Args:
        split (str): ``'train'`` (DBL's subset) or ``'test'``.
        longtail_dir (str): folder with DBL's files, relative to
            ``data_root``.
        list_file (str, optional): an LMPT list (``path idx idx ...``,
            paths relative to ``data_root``) read instead of the official
            annotations (it replaces ``ann_file``).
    """

    #: DBL's id file in ``longtail_dir`` that selects the training images
    #: from the annotation file; None when the ids are the ``ann_file``.
    ID_FILE: Optional[str] = None

    def __init__(self, split: str = 'train', longtail_dir: str = '',
                 list_file: Optional[str] = None, **kwargs) -> None:
        if split not in _SPLITS:
            raise ValueError(f'split must be one of {_SPLITS}, got {split!r}')
        self.lt_split = split
        self.longtail_dir = longtail_dir
        self.list_file = list_file
        if list_file:
            kwargs['ann_file'] = list_file
            kwargs['data_prefix'] = dict(img_path='')
        super().__init__(**kwargs)

    def _dbl(self, name: str) -> str:
        return osp.join(resolve(self.data_root, self.longtail_dir), name)

    def load_data_list(self) -> List[dict]:
        """Default the class counts to DBL's ``class_freq.pkl``."""
        freq = self._dbl('class_freq.pkl')
        if self.class_counts is None and osp.isfile(freq):
            self.class_counts = read_dbl_class_freq(
                freq, len(self.METAINFO['classes']))
        return super().load_data_list()

    def _frequency_groups(self, counts: List[int]) -> Dict[str, List[int]]:
        """DBL's own head / medium / tail sets when its file is there."""
        path = self._dbl('class_split.pkl')
        if osp.isfile(path):
            return read_dbl_class_split(path, len(counts))
        return super()._frequency_groups(counts)

    def load_annotations(self, ann_file: str) -> Tuple[List[str], List[dict]]:
        """The LMPT list, or the official labels of DBL's training ids."""
        classes = list(self.METAINFO['classes'])
        if self.list_file:
            return classes, read_index_list(ann_file, len(classes))
        classes, records = super().load_annotations(ann_file)
        if self.lt_split == 'train' and self.ID_FILE:
            id_file = self._dbl(self.ID_FILE)
            ids = read_lines(id_file, 'DBL image-id list',
                             f'Prepare it as described in {self.GUIDE}.')
            records = select_ids(records, ids, id_file, ann_file)
        return classes, records

    def source_name(self) -> str:
        """The split (or the LMPT list's name) in split-file names."""
        if self.list_file:
            return osp.splitext(osp.basename(self.list_file))[0]
        return self.lt_split


@DATASETS.register_module()
class COCOLT(_LongTail, CocoMultiLabel):
    """COCO-LT (``data_root`` holds ``annotations/``, ``train2017/``,
    ``val2017/`` and DBL's ``longtail2017/``).

    ``split='train'``: the 1,909 images of ``longtail2017/img_id.pkl``,
    labelled from ``instances_train2017.json``; ``split='test'``: all 5,000
    images of ``instances_val2017.json``. Head / medium / tail come from
    ``longtail2017/class_split.pkl``; counts from ``class_freq.pkl``.

    Args:
        **kwargs: see :class:`_LongTail` and :class:`CocoMultiLabel`.
    """

    ID_FILE = 'img_id.pkl'  # plain text despite the name
    GUIDE = 'docs/datasets/longtail.md'

    def __init__(self, split: str = 'train',
                 longtail_dir: str = 'longtail2017', **kwargs) -> None:
        year = 'train2017' if split == 'train' else 'val2017'
        kwargs.setdefault('ann_file', f'annotations/instances_{year}.json')
        kwargs.setdefault('data_prefix', dict(img_path=year))
        super().__init__(split=split, longtail_dir=longtail_dir, **kwargs)


@DATASETS.register_module()
class VOCLT(_LongTail, VOC2007):
    """VOC-LT (``data_root`` = ``VOCdevkit`` with ``VOC2012/``, ``VOC2007/``
    and DBL's ``longtail2012/``).

    ``split='train'``: the 1,142 VOC2012 trainval images of
    ``longtail2012/img_id.txt`` (its ``ann_file``), labelled from
    ``VOC2012/Annotations``; ``split='test'``: VOC2007 test (4,952).
    The ``difficult`` rule is VOC2007's (see :class:`VOC2007`); DBL and
    LMPT count difficult-only objects as positive (``difficult='positive'``).

    Args:
        **kwargs: see :class:`_LongTail` and :class:`VOC2007`.
    """

    GUIDE = 'docs/datasets/longtail.md'

    def __init__(self, split: str = 'train',
                 longtail_dir: str = 'longtail2012', **kwargs) -> None:
        year = 'VOC2012' if split == 'train' else 'VOC2007'
        kwargs.setdefault(
            'ann_file', f'{longtail_dir}/img_id.txt' if split == 'train' else
            'VOC2007/ImageSets/Main/test.txt')
        kwargs.setdefault('ann_dir', f'{year}/Annotations')
        kwargs.setdefault('data_prefix', dict(img_path=f'{year}/JPEGImages'))
        super().__init__(split=split, longtail_dir=longtail_dir, **kwargs)
