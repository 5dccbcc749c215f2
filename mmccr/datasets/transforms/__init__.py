"""Data transforms, registered in ``TRANSFORMS``."""
from .formatting import PackInputs
from .loading import LoadImage
from .processing import RandomFlip, Resize

__all__ = ['LoadImage', 'PackInputs', 'RandomFlip', 'Resize']
