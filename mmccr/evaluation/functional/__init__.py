"""Metric functions on ``(N, C)`` logits and targets (float64, numpy)."""
from .accuracy import (
    accuracy,
    balanced_accuracy,
    example_accuracy,
    positive_accuracy,
)
from .binning import (
    BINNINGS,
    bin_statistics,
    binned_gaps,
    quantile_edges,
    quantile_index,
    reliability_bins,
)
from .calibration import (
    MODES,
    ace,
    confidence_and_correct,
    confidence_gap,
    ece,
    mce,
    piece,
)
from .groups import group_means, harmonic_mean
from .knn import proximity
from .precision_recall import per_class_precision_recall, precision_recall_f1
from .ranking import average_precision

__all__ = [
    'BINNINGS', 'MODES', 'accuracy', 'ace', 'average_precision',
    'balanced_accuracy', 'bin_statistics', 'binned_gaps',
    'confidence_and_correct', 'confidence_gap', 'ece', 'example_accuracy',
    'group_means',
    'harmonic_mean', 'mce', 'per_class_precision_recall', 'piece',
    'positive_accuracy', 'precision_recall_f1', 'proximity',
    'quantile_edges', 'quantile_index', 'reliability_bins'
]
