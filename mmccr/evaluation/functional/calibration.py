"""Calibration errors of multi-label predictions, per class.

Conventions (``docs/metrics.md``): computed in float64 from logits; bins
follow the DAC code: bin b holds confidences in ``[b/M, (b+1)/M)``; a
confidence of exactly 1.0 is left out of every bin's averages but counted
in the last bin's weight; empty bins contribute nothing.
"""
from typing import Tuple

import numpy as np

from .utils import check_pair, sigmoid

MODES = ('binary', 'prob', 'positive')


def confidence_and_correct(logits: np.ndarray, targets: np.ndarray,
                           mode: str) -> Tuple[np.ndarray, np.ndarray,
                                               np.ndarray]:
    """Per (image, class) confidence, correctness and inclusion mask.

    * ``'binary'``: confidence ``max(p, 1 - p)``, correct iff the decision
      ``p >= 0.5`` equals the label; all known pairs.
    * ``'prob'``: confidence ``p``, "correct" is the label itself; all known
      pairs.
    * ``'positive'``: confidence ``p``, correct iff ``p >= 0.5``; only
      positive pairs (degenerate: predicting 1 everywhere scores 0 error).

    Returns:
        tuple: ``conf``, ``correct`` and ``include``, each ``(N, C)``.
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    known = targets >= 0
    positive = targets == 1
    if mode == 'binary':
        conf = sigmoid(np.abs(logits))
        correct = ((logits >= 0) == positive).astype(np.float64)
        return conf, correct, known
    conf = sigmoid(logits)
    if mode == 'prob':
        return conf, positive.astype(np.float64), known
    return conf, (logits >= 0).astype(np.float64), positive


def binned_gaps(conf: np.ndarray,
                correct: np.ndarray,
                n_bins: int = 10) -> Tuple[np.ndarray, np.ndarray]:
    """Per-bin weights and gaps on equal-width bins (DAC conventions).

    Args:
        conf (np.ndarray): confidences ``(N,)`` in [0, 1].
        correct (np.ndarray): correctness or targets ``(N,)`` in {0, 1}.
        n_bins (int): number of bins.

    Returns:
        tuple: weights ``n_b / N`` ``(n_bins,)`` and gaps
        ``|acc_b - conf_b|`` ``(n_bins,)`` (0 for bins without members).
    """
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    counts, _ = np.histogram(conf, bins=edges)
    index = np.digitize(conf, edges) - 1  # 1.0 -> n_bins: out of every bin
    inside = (index >= 0) & (index < n_bins)
    members = np.bincount(index[inside], minlength=n_bins)
    sum_conf = np.bincount(index[inside], conf[inside], minlength=n_bins)
    sum_acc = np.bincount(index[inside], correct[inside], minlength=n_bins)
    gaps = np.zeros(n_bins)
    filled = members > 0
    gaps[filled] = np.abs(sum_acc[filled] - sum_conf[filled]) / \
        members[filled]
    weights = counts / max(len(conf), 1)
    return weights, gaps


def ece(logits, targets, *, mode: str = 'binary',
        n_bins: int = 10) -> np.ndarray:
    """Expected calibration error per class.

    ``ECE_c = sum_b (n_b / N_c) |acc_b - conf_b|`` over equal-width bins of
    the class's included pairs (see :func:`confidence_and_correct`).

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped.
        mode (str): ``'binary'`` (default), ``'prob'`` or ``'positive'``.
        n_bins (int): number of bins. Defaults to 10.

    Returns:
        np.ndarray: ECE per class ``(C,)`` as a fraction in [0, 1]; NaN for a
        class with no included pair.
    """
    logits, targets = check_pair(logits, targets)
    conf, correct, include = confidence_and_correct(logits, targets, mode)
    out = np.full(logits.shape[1], np.nan)
    for c in range(logits.shape[1]):
        keep = include[:, c]
        if keep.any():
            weights, gaps = binned_gaps(conf[keep, c], correct[keep, c],
                                        n_bins)
            out[c] = float((weights * gaps).sum())
    return out
