"""Datasets, registered in ``DATASETS``."""
from .base import MultiLabelDataset
from .caption_matcher import CaptionLabelMatcher
from .captions import (
    COCO_SYNONYMS,
    CaptionDataset,
    CocoCaptions,
    ToyWorldCaptions,
)
from .coco import COCO_CLASSES, CocoMultiLabel
from .fewshot import base_new_split, frequency_groups, sample_few_shot
from .generated import GeneratedImageCaptions, ToyWorldGenerated
from .list_file import MultiLabelListDataset, read_class_names
from .longtail import COCOLT, VOCLT
from .nuswide import NUSWIDE, NUSWIDE_CLASSES
from .openimages import OpenImagesV6
from .seeding import SampleIndex, SeededSampler, seeded_random_state
from .synthetic import SyntheticShapes
from .toyworld import ToyWorld
from .transforms import *  # noqa: F401,F403
from .voc import VOC2007, VOC_CLASSES

__all__ = [
    'COCO_CLASSES', 'COCO_SYNONYMS', 'COCOLT', 'NUSWIDE', 'NUSWIDE_CLASSES',
    'VOC2007', 'VOC_CLASSES', 'VOCLT', 'CaptionDataset',
    'CaptionLabelMatcher', 'CocoCaptions', 'CocoMultiLabel',
    'GeneratedImageCaptions',
    'MultiLabelDataset', 'MultiLabelListDataset', 'OpenImagesV6',
    'SampleIndex', 'SeededSampler', 'SyntheticShapes', 'ToyWorld',
    'ToyWorldCaptions', 'ToyWorldGenerated', 'base_new_split',
    'frequency_groups',
    'read_class_names', 'sample_few_shot', 'seeded_random_state'
]
