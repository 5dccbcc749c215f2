"""High-level entry points: run configs and experiment grids."""
from .runs import config_digest, execute, run_config, seeded_config

__all__ = ['config_digest', 'execute', 'run_config', 'seeded_config']
