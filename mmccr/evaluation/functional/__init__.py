"""Metric functions on ``(N, C)`` logits and targets (float64, numpy)."""
from .accuracy import (
    accuracy,
    balanced_accuracy,
    example_accuracy,
    positive_accuracy,
    top1_accuracy,
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
    TOP1_ITEMS,
    ace,
    confidence_and_correct,
    confidence_gap,
    dclr_bins,
    dclr_ece,
    dclr_mce,
    ece,
    mce,
    piece,
    top1_errors,
)
from .groups import (
    BASE_NEW_MEANS,
    add_base_new_means,
    arithmetic_mean,
    group_means,
    harmonic_mean,
)
from .knn import proximity
from .mapping import MAPPINGS, class_probabilities, fit_platt, top1_pairs
from .precision_recall import per_class_precision_recall, precision_recall_f1
from .ranking import average_precision

__all__ = [
    'BASE_NEW_MEANS', 'BINNINGS', 'MAPPINGS', 'MODES', 'TOP1_ITEMS',
    'accuracy', 'ace', 'add_base_new_means', 'arithmetic_mean',
    'average_precision', 'balanced_accuracy', 'bin_statistics',
    'binned_gaps', 'class_probabilities', 'confidence_and_correct',
    'confidence_gap', 'dclr_bins', 'dclr_ece', 'dclr_mce', 'ece',
    'example_accuracy', 'fit_platt', 'group_means', 'harmonic_mean', 'mce',
    'per_class_precision_recall', 'piece', 'positive_accuracy',
    'precision_recall_f1', 'proximity', 'quantile_edges', 'quantile_index',
    'reliability_bins', 'top1_accuracy', 'top1_errors', 'top1_pairs'
]
