"""Ranking metrics."""
import numpy as np

from .utils import check_pair


def average_precision(logits, targets) -> np.ndarray:
    """Non-interpolated average precision per class.

    Per class, images with a known target (0 or 1; -1 is skipped) are
    sorted by descending score; AP is the mean of the precision at the rank
    of each positive. Ties keep the input order (stable sort).

    Args:
        logits: scores ``(N, C)`` (any monotone transform gives the same AP).
        targets: labels ``(N, C)`` in {1, 0, -1}.

    Returns:
        np.ndarray: AP per class ``(C,)`` in [0, 1]; NaN for a class with no
        positive.
    """
    logits, targets = check_pair(logits, targets)
    num_classes = logits.shape[1]
    ap = np.full(num_classes, np.nan)
    for c in range(num_classes):
        known = targets[:, c] >= 0
        y = targets[known, c]
        if not (y == 1).any():
            continue
        order = np.argsort(-logits[known, c], kind='stable')
        hits = (y[order] == 1).astype(np.float64)
        precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        ap[c] = (precision * hits).sum() / hits.sum()
    return ap
