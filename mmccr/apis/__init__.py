"""High-level entry points: run configs and experiment grids."""
from .runs import execute, seeded_config

__all__ = ['execute', 'seeded_config']
