"""Per-class and overall precision, recall and F1 (ML-GCN/ASL style).

Decision ``sigmoid(z) >= threshold``; targets of -1 are skipped.
"""
from typing import Dict, Tuple

import numpy as np

from .groups import harmonic_mean
from .utils import Array, check_pair, decide, ratio


def _counts(logits: Array, targets: Array, threshold: float
            ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class TP, FP and FN over the known targets, each ``(C,)``."""
    logits, targets = check_pair(logits, targets)
    pred = decide(logits, threshold)
    pos, neg = targets == 1, targets == 0
    return ((pred & pos).sum(0), (pred & neg).sum(0), (~pred & pos).sum(0))


def _rates(tp: np.ndarray, fp: np.ndarray,
           fn: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Precision (0 without predicted positive) and recall (NaN without
    positive) from counts."""
    return np.nan_to_num(ratio(tp, tp + fp), nan=0.0), ratio(tp, tp + fn)


def per_class_precision_recall(logits: Array, targets: Array,
                               threshold: float = 0.5
                               ) -> Tuple[np.ndarray, np.ndarray]:
    """Per-class precision and recall.

    Precision is ``TP / (TP + FP)`` and 0 for a class with no predicted
    positive (ML-GCN/ASL convention); recall is ``TP / (TP + FN)`` and NaN
    for a class without a known positive.

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped.
        threshold (float): probability threshold. Defaults to 0.5.

    Returns:
        tuple: precision ``(C,)`` and recall ``(C,)``.
    """
    return _rates(*_counts(logits, targets, threshold))


def precision_recall_f1(logits: Array, targets: Array,
                        threshold: float = 0.5) -> Dict[str, float]:
    """Per-class-averaged (C*) and overall (O*) precision, recall and F1.

    * ``CP``, ``CR``: means of the per-class precision and recall of
      :func:`per_class_precision_recall` over the classes with at least
      one known positive (a class with no predicted positive has precision
      0, as in ML-GCN/ASL; a class without positives has no recall and is
      left out of both means; ML-GCN/ASL would divide by 0 there);
      ``CF1 = 2 CP CR / (CP + CR)`` (F1 of the means, not mean of F1s).
    * ``OP``, ``OR``: from TP, FP and FN pooled over all classes,
      ``OP = TP / (TP + FP)`` (0 with no predicted positive),
      ``OR = TP / (TP + FN)`` (NaN with no positive);
      ``OF1 = 2 OP OR / (OP + OR)``.

    F1 is 0 when precision and recall are both 0.

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped.
        threshold (float): probability threshold. Defaults to 0.5.

    Returns:
        dict: ``'CP'``, ``'CR'``, ``'CF1'``, ``'OP'``, ``'OR'``, ``'OF1'``
        as floats in [0, 1] (NaN without any known positive).
    """
    tp, fp, fn = _counts(logits, targets, threshold)
    precision, recall = _rates(tp, fp, fn)
    has_pos = (tp + fn) > 0
    if has_pos.any():
        cp = float(precision[has_pos].mean())
        cr = float(recall[has_pos].mean())
    else:
        cp = cr = float('nan')
    op, orr = (float(x) for x in _rates(tp.sum(), fp.sum(), fn.sum()))
    return dict(CP=cp, CR=cr, CF1=harmonic_mean(cp, cr), OP=op, OR=orr,
                OF1=harmonic_mean(op, orr))
