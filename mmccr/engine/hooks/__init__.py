"""Hooks, registered in ``HOOKS``."""
from .class_set_hook import ClassSetHook
from .evaluation_report_hook import EvaluationReportHook
from .random_state_hook import RandomStateHook
from .reference_features_hook import ReferenceFeaturesHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = [
    'ClassSetHook', 'EvaluationReportHook', 'RandomStateHook',
    'ReferenceFeaturesHook', 'SafeCheckpointHook'
]
