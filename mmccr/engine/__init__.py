"""Engine parts: hooks, the CPU-capable DDP wrapper, atomic file writes."""
from . import atomic_backend  # noqa: F401  (registers the atomic backend)
from .hooks import *  # noqa: F401,F403
from .model_wrapper import MMCCRDistributedDataParallel
from .schedulers import ConstantWarmupCosineLR

__all__ = ['ConstantWarmupCosineLR', 'MMCCRDistributedDataParallel']
