"""Hooks, registered in ``HOOKS``."""
from .calibrator_fit_hook import CalibratorFitHook
from .class_set_hook import ClassSetHook
from .evaluation_report_hook import EvaluationReportHook
from .feature_cache_hook import FeatureCacheHook
from .non_finite_guard_hook import NonFiniteGuardHook, NonFiniteLossError
from .progress_hook import RichProgressHook
from .random_state_hook import RandomStateHook
from .reference_features_hook import ReferenceFeaturesHook
from .safe_checkpoint_hook import SafeCheckpointHook

__all__ = [
    'CalibratorFitHook', 'ClassSetHook', 'EvaluationReportHook',
    'FeatureCacheHook',
    'NonFiniteGuardHook', 'NonFiniteLossError',
    'RandomStateHook', 'ReferenceFeaturesHook', 'RichProgressHook',
    'SafeCheckpointHook'
]
