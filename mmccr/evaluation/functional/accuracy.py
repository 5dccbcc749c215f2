"""Thresholded multi-label accuracy."""
import numpy as np

from .utils import check_pair


def accuracy(logits, targets, threshold: float = 0.5) -> np.ndarray:
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
    logits, targets = check_pair(logits, targets)
    if not 0 < threshold < 1:
        raise ValueError(f'threshold must be in (0, 1), got {threshold}')
    # sigmoid(z) >= t  <=>  z >= logit(t), exact in float64
    pred = logits >= np.log(threshold / (1 - threshold))
    known = targets >= 0
    correct = ((pred == (targets == 1)) & known).sum(0)
    total = known.sum(0)
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(total > 0, correct / np.maximum(total, 1), np.nan)
