"""High-level entry points: run configs for comparisons and the demo."""
from .runs import config_digest, run_config, seeded_config
from .stages import prepare_stages

__all__ = ['config_digest', 'prepare_stages', 'run_config', 'seeded_config']
