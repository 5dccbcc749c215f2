"""Datasets, registered in ``DATASETS``."""
from .base import MultiLabelDataset
from .coco import COCO_CLASSES, CocoMultiLabel
from .fewshot import base_new_split, frequency_groups, sample_few_shot
from .list_file import MultiLabelListDataset, read_class_names
from .seeding import SampleIndex, SeededSampler, seeded_random_state
from .synthetic import SyntheticShapes
from .toyworld import ToyWorld
from .transforms import *  # noqa: F401,F403

__all__ = [
    'COCO_CLASSES', 'CocoMultiLabel', 'MultiLabelDataset',
    'MultiLabelListDataset', 'SampleIndex', 'SeededSampler', 'SyntheticShapes',
    'ToyWorld', 'base_new_split', 'frequency_groups', 'read_class_names',
    'sample_few_shot', 'seeded_random_state'
]
