"""Hooks, registered in ``HOOKS``."""
from .class_set_hook import ClassSetHook
from .random_state_hook import RandomStateHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = ['ClassSetHook', 'RandomStateHook', 'SafeCheckpointHook']
