"""Averaging per-class values over class groups."""
from typing import Dict, Sequence

import numpy as np


def harmonic_mean(a: float, b: float) -> float:
    """``2ab / (a + b)``; 0 when both are 0, NaN when either is NaN."""
    if np.isnan(a) or np.isnan(b):
        return float('nan')
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


def group_means(per_class: np.ndarray,
                groups: Dict[str, Sequence[int]]) -> Dict[str, float]:
    """Mean of per-class values over ``all`` and every non-empty group.

    NaN entries (classes where a metric is undefined) are skipped. When both
    ``base`` and ``new`` are present, ``HM`` is their harmonic mean.

    Args:
        per_class (np.ndarray): one value per class ``(C,)``.
        groups (dict): group name -> class indices.

    Returns:
        dict: group name -> mean value.
    """
    per_class = np.asarray(per_class, dtype=np.float64)

    def mean(values: np.ndarray) -> float:
        values = values[~np.isnan(values)]
        return float(values.mean()) if values.size else float('nan')

    out = {'all': mean(per_class)}
    for name, members in groups.items():
        if len(members):
            out[name] = mean(per_class[np.asarray(members, dtype=int)])
    if 'base' in out and 'new' in out:
        out['HM'] = harmonic_mean(out['base'], out['new'])
    return out
