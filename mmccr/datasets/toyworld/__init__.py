"""The toy world: generated multi-label scenes and captions, and the tiny
CLIP pretrained on them (``ToyCLIP``), for offline demos and tests.

:func:`register_toyclip` makes the ``ToyCLIP`` model config known to
open_clip (it is not called on import, which would import open_clip).
"""
from .captions import caption
from .clip_config import (
    TOYCLIP_CONFIG,
    TOYCLIP_NAME,
    TOYCLIP_WEIGHTS,
    register_toyclip,
)
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
    'SPLITS', 'TOYCLIP_CONFIG', 'TOYCLIP_NAME', 'TOYCLIP_WEIGHTS',
    'ToyWorld', 'caption', 'register_toyclip', 'sample_labels',
    'sample_objects',
    'scene_image', 'scene_rng'
]
