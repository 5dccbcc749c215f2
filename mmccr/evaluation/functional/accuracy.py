"""Thresholded multi-label accuracies.

All forms use the decision ``sigmoid(z) >= threshold`` (i.e.
``z >= logit(threshold)``; exact at 0.5, rounded once otherwise) and skip
targets of -1.
"""
from typing import Tuple

import numpy as np

from .utils import Array, check_pair, decide, ratio


def _decisions(logits: Array, targets: Array, threshold: float
               ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decisions, positive labels and known mask, each ``(N, C)`` bool."""
    logits, targets = check_pair(logits, targets)
    return decide(logits, threshold), targets == 1, targets >= 0


def accuracy(logits: Array, targets: Array,
             threshold: float = 0.5) -> np.ndarray:
    """Per-class accuracy of the decision ``sigmoid(z) >= threshold``.

    For class c: the fraction of images with a known target whose decision
    equals the target (the per-class form of the Hamming accuracy).

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped.
        threshold (float): probability threshold. Defaults to 0.5.

    Returns:
        np.ndarray: accuracy per class ``(C,)``; NaN for a class without
        known targets.
    """
    pred, pos, known = _decisions(logits, targets, threshold)
    return ratio(((pred == pos) & known).sum(0), known.sum(0))


def positive_accuracy(logits: Array, targets: Array,
                      threshold: float = 0.5) -> np.ndarray:
    """Per-class fraction of positive pairs decided positive (recall, TPR).

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped.
        threshold (float): probability threshold. Defaults to 0.5.

    Returns:
        np.ndarray: positive accuracy per class ``(C,)``; NaN for a class
        without a positive.
    """
    pred, pos, _ = _decisions(logits, targets, threshold)
    return ratio((pred & pos).sum(0), pos.sum(0))


def balanced_accuracy(logits: Array, targets: Array,
                      threshold: float = 0.5) -> np.ndarray:
    """Per-class balanced accuracy ``(TPR + TNR) / 2``.

    A class without a known positive or without a known negative is NaN
    (rather than falling back to the one available rate, which would mix
    two different quantities in a class-group mean).

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped.
        threshold (float): probability threshold. Defaults to 0.5.

    Returns:
        np.ndarray: balanced accuracy per class ``(C,)``; NaN for a class
        lacking positives or negatives.
    """
    pred, pos, known = _decisions(logits, targets, threshold)
    neg = known & ~pos
    tpr = ratio((pred & pos).sum(0), pos.sum(0))
    tnr = ratio((~pred & neg).sum(0), neg.sum(0))
    return (tpr + tnr) / 2  # NaN propagates


def example_accuracy(logits: Array, targets: Array,
                     threshold: float = 0.5) -> float:
    """Example-based (Jaccard) accuracy.

    The mean over images of ``|pred & true| / |pred | true|`` computed over
    the image's known entries. An image whose union is empty (no known
    positive and nothing decided positive among its known entries) counts
    as 1 (perfect agreement); an image without any known entry is left
    out.

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped.
        threshold (float): probability threshold. Defaults to 0.5.

    Returns:
        float: the accuracy in [0, 1]; NaN when no image has a known entry.
    """
    pred, pos, known = _decisions(logits, targets, threshold)
    pred = pred & known
    inter = (pred & pos).sum(1)
    union = (pred | pos).sum(1)
    per_image = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    per_image = per_image[known.any(1)]
    return float(per_image.mean()) if per_image.size else float('nan')


def top1_accuracy(logits: Array, targets: Array) -> float:
    """Fraction of images whose top-scoring class is one of their labels.

    The single-label reading of a multi-label prediction (the DAC
    evaluator's accuracy): the top-1 class (first on ties) over the given
    columns is correct when its target is 1. Images without a known
    positive among the columns are left out.

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}.

    Returns:
        float: the accuracy in [0, 1]; NaN when no image has a known
        positive.
    """
    logits, targets = check_pair(logits, targets)
    include = (targets == 1).any(1)
    top = logits.argmax(1)
    hit = targets[np.arange(len(logits)), top] == 1
    return float(hit[include].mean()) if include.any() else float('nan')
