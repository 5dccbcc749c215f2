"""High-level entry points: run configs and experiment grids."""
from .runs import execute, seeded_config
from .stages import prepare_stages

__all__ = ['execute', 'prepare_stages', 'seeded_config']
