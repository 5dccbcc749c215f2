"""Data transforms, registered in ``TRANSFORMS``."""
from .formatting import (
                         CachedFeatureInputs,
                         PackCaption,
                         PackImageCaption,
                         PackInputs,
)
from .loading import LoadImage
from .processing import RandomFlip, Resize

__all__ = [
    'CachedFeatureInputs', 'LoadImage', 'PackCaption', 'PackImageCaption',
    'PackInputs', 'RandomFlip', 'Resize'
]
