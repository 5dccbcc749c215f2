"""Data transforms, registered in ``TRANSFORMS``."""
from .formatting import CachedFeatureInputs, PackInputs
from .loading import LoadImage
from .processing import RandomFlip, Resize

__all__ = [
    'CachedFeatureInputs', 'LoadImage', 'PackInputs', 'RandomFlip', 'Resize'
]
