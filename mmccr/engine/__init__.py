"""Engine parts: runner, hooks, CPU-capable DDP wrapper, atomic writes."""
from . import atomic_backend  # noqa: F401  (registers the atomic backend)
from .checkpoint_loader import CheckpointLoadError, load_checkpoint_file
from .hooks import *  # noqa: F401,F403
from .model_wrapper import MMCCRDistributedDataParallel
from .runner import MMCCRRunner, build_runner
from .schedulers import ConstantWarmupCosineLR

__all__ = [
    'CheckpointLoadError', 'ConstantWarmupCosineLR',
    'MMCCRDistributedDataParallel', 'MMCCRRunner', 'build_runner',
    'load_checkpoint_file'
]
