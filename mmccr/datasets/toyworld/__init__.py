"""The toy world: generated multi-label scenes and captions, for offline
demos and tests. The tiny CLIP pretrained on it (``ToyCLIP``) lives with
the models, in :mod:`mmccr.models.backbones.toyclip`.
"""
from .captions import caption
from .dataset import ToyWorld
from .render import scene_image
from .world import (
    CLASS_NAMES,
    CLASSES,
    COOCCURRENCE_GROUPS,
    EXCLUSIVE_PAIRS,
    SPLITS,
    sample_labels,
    sample_objects,
    scene_rng,
)

__all__ = [
    'CLASSES', 'CLASS_NAMES', 'COOCCURRENCE_GROUPS', 'EXCLUSIVE_PAIRS',
    'SPLITS', 'ToyWorld', 'caption', 'sample_labels', 'sample_objects',
    'scene_image', 'scene_rng'
]
