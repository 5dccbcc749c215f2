"""Data transforms, registered in ``TRANSFORMS``."""
from .formatting import PackCaption, PackInputs
from .loading import LoadImage
from .processing import RandomFlip, Resize

__all__ = ['LoadImage', 'PackCaption', 'PackInputs', 'RandomFlip', 'Resize']
