"""High-level entry points: run configs for comparisons and the demo."""
from .runs import config_digest, run_config, seeded_config

__all__ = ['config_digest', 'run_config', 'seeded_config']
