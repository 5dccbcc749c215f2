"""Averaging per-class values over class groups, and base/new means.

Two means of the ``base`` and ``new`` values are reported next to the
groups (``docs/metrics.md``, Conventions):

* ``HM``: the harmonic mean ``2bn / (b + n)`` (CoOp/CoCoOp base-to-new
  papers; punishes a low value in either group);
* ``Avg``: the arithmetic mean ``(b + n) / 2`` (every Base/New/HM cell of
  the CCR paper's Table 2 is this mean, e.g. ECE (3.58 + 4.61) / 2 = 4.10).
"""
from typing import Callable, Dict, Sequence

import numpy as np


def harmonic_mean(a: float, b: float) -> float:
    """``2ab / (a + b)``; 0 when both are 0, NaN when either is NaN."""
    if np.isnan(a) or np.isnan(b):
        return float('nan')
    return 0.0 if a + b == 0 else 2 * a * b / (a + b)


def arithmetic_mean(a: float, b: float) -> float:
    """``(a + b) / 2``; NaN when either is NaN."""
    return float((a + b) / 2)


#: Means of the base and new values, by the group name they report under.
BASE_NEW_MEANS: Dict[str, Callable[[float, float], float]] = {
    'HM': harmonic_mean,
    'Avg': arithmetic_mean,
}


def add_base_new_means(values: Dict[str, float],
                       signed: bool = False) -> Dict[str, float]:
    """Add ``HM`` and ``Avg`` of ``values['base']`` and ``values['new']``.

    Args:
        values (dict): group name -> value; changed in place.
        signed (bool): the values may be negative: only ``Avg`` (a harmonic
            mean of signed values means nothing).

    Returns:
        dict: ``values``, for chaining.
    """
    if 'base' in values and 'new' in values:
        for name, mean in BASE_NEW_MEANS.items():
            if not (signed and name == 'HM'):
                values[name] = mean(values['base'], values['new'])
    return values


def group_means(per_class: np.ndarray,
                groups: Dict[str, Sequence[int]],
                signed: bool = False) -> Dict[str, float]:
    """Mean of per-class values over ``all`` and every non-empty group.

    NaN entries (classes where a metric is undefined) are skipped. When both
    ``base`` and ``new`` are present, ``HM`` and ``Avg`` are their harmonic
    and arithmetic means (see :func:`add_base_new_means`).

    Args:
        per_class (np.ndarray): one value per class ``(C,)``.
        groups (dict): group name -> class indices.
        signed (bool): the values may be negative: no ``HM``.

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
    return add_base_new_means(out, signed)
