"""MS-COCO multi-label classification from instance annotations."""
import json
import os.path as osp
from typing import List, Tuple

import numpy as np

from mmccr.registry import DATASETS

from .base import MultiLabelDataset

#: The 80 COCO categories in ascending category-id order.
COCO_CLASSES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train',
    'truck', 'boat', 'traffic light', 'fire hydrant', 'stop sign',
    'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella',
    'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard',
    'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard',
    'surfboard', 'tennis racket', 'bottle', 'wine glass', 'cup', 'fork',
    'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
    'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
    'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop',
    'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven',
    'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
    'teddy bear', 'hair drier', 'toothbrush')


@DATASETS.register_module()
class CocoMultiLabel(MultiLabelDataset):
    """MS-COCO (2014 or 2017) image-level labels from ``instances_*.json``.

    An image is positive for a category if it has at least one instance of
    it (crowd instances included unless ``skip_crowd``). Categories are
    mapped to 0..79 in ascending category-id order, which gives
    :data:`COCO_CLASSES`. Images without annotations are kept as
    all-negative rows unless ``drop_empty``.

    Args:
        skip_crowd (bool): ignore ``iscrowd=1`` instances. Defaults to False.
        drop_empty (bool): drop images without annotations. Defaults to
            False.
        **kwargs: see :class:`MultiLabelDataset`.
    """

    METAINFO = dict(classes=COCO_CLASSES)
    #: The guide that error messages point to.
    GUIDE = 'docs/datasets/coco.md'

    def __init__(self, skip_crowd: bool = False, drop_empty: bool = False,
                 **kwargs) -> None:
        self.skip_crowd = skip_crowd
        self.drop_empty = drop_empty
        super().__init__(**kwargs)

    def load_annotations(self, ann_file: str) -> Tuple[List[str], List[dict]]:
        """Read a COCO instances file into per-image label vectors."""
        if not osp.isfile(ann_file):
            year = '2017' if '2017' in osp.basename(ann_file) else '2014'
            raise FileNotFoundError(
                f'COCO annotation file {ann_file!r} not found. Download '
                f'annotations_trainval{year}.zip and unpack it under the '
                f'data root (see {self.GUIDE}).')
        with open(ann_file) as f:
            try:
                coco = json.load(f)
            except json.JSONDecodeError as err:
                raise ValueError(
                    f'{ann_file} is not valid JSON: {err}') from err
        for key in ('images', 'annotations', 'categories'):
            if key not in coco:
                raise ValueError(f'{ann_file} has no {key!r} list; expected '
                                 'a COCO instances file.')
        cats = sorted(coco['categories'], key=lambda c: c['id'])
        cat_index = {c['id']: i for i, c in enumerate(cats)}
        classes = [c['name'] for c in cats]
        labels = {
            img['id']: np.zeros(len(classes), np.int8)
            for img in coco['images']
        }
        for ann in coco['annotations']:
            if self.skip_crowd and ann.get('iscrowd', 0):
                continue
            cat, img = ann.get('category_id'), ann.get('image_id')
            if cat not in cat_index:
                raise ValueError(
                    f"{ann_file}: annotation {ann.get('id')} has category_id "
                    f'{cat!r}, which is not in the file\'s categories '
                    f'{sorted(cat_index)}.')
            if img not in labels:
                raise ValueError(
                    f"{ann_file}: annotation {ann.get('id')} refers to "
                    f'image_id {img!r}, which is not in the file\'s images.')
            labels[img][cat_index[cat]] = 1
        records = [
            dict(
                img_id=img['id'],
                img_path=img['file_name'],
                labels=labels[img['id']]) for img in coco['images']
            if not (self.drop_empty and not labels[img['id']].any())
        ]
        return classes, records
