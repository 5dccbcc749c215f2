"""Metric functions on ``(N, C)`` logits and targets (float64, numpy)."""
from .accuracy import accuracy
from .calibration import binned_gaps, confidence_and_correct, ece
from .groups import group_means, harmonic_mean
from .ranking import average_precision

__all__ = [
    'accuracy', 'average_precision', 'binned_gaps', 'confidence_and_correct',
    'ece', 'group_means', 'harmonic_mean'
]
