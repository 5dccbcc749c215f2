"""mmccr: calibrated multi-label recognition with CLIP prompt tuning."""
# Atomic local writes for everything mmengine saves, in every process.
from .engine import atomic_backend  # noqa: F401
from .version import __version__

__all__ = ['__version__']
