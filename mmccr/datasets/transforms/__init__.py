"""Data transforms, registered in ``TRANSFORMS``."""
from .formatting import PackCaption, PackImageCaption, PackInputs
from .loading import LoadImage
from .processing import RandomFlip, Resize

__all__ = [
    'LoadImage', 'PackCaption', 'PackImageCaption', 'PackInputs',
    'RandomFlip', 'Resize'
]
