"""Paired significance test for tables: the Wilcoxon signed-rank test.

A method and its +CCR version are compared on the same (dataset, seed)
pairs. The Wilcoxon signed-rank test needs no normality of the
differences (few seeds, bounded metrics). mmccr computes its **exact**
two-sided p-value from the permutation distribution of the signed ranks
(every sign pattern equally likely under H0), with zero differences
dropped (Wilcoxon's convention) and tied absolute differences given their
average rank; the distribution is enumerated on doubled ranks, so ties
stay exact. Plain Python: no SciPy.
"""
import math
from typing import NamedTuple, Sequence

#: The name printed beside every p-value.
TEST_NAME = ('Wilcoxon signed-rank test, exact two-sided p, zero '
             'differences dropped, ties at average ranks')


class PairedTest(NamedTuple):
    """Result of :func:`wilcoxon_signed_rank`.

    Attributes:
        n (int): pairs with a non-zero difference.
        w_plus (float): sum of the ranks of the positive differences
            ``y - x``.
        p (float): exact two-sided p-value (NaN without pairs).
        mean_diff (float): mean of ``y - x`` over all pairs (zeros too).
    """
    n: int
    w_plus: float
    p: float
    mean_diff: float


def average_ranks(values: Sequence[float]) -> list:
    """Ranks 1..n of ``values``, ties at their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def wilcoxon_signed_rank(x: Sequence[float],
                         y: Sequence[float]) -> PairedTest:
    """Exact Wilcoxon signed-rank test of the paired samples ``x``, ``y``.

    Args:
        x (Sequence[float]): the first method's values ``(n,)``.
        y (Sequence[float]): the second method's values on the same pairs.

    Returns:
        PairedTest: ``p = min(1, 2 · min(P(W+ ≤ w), P(W+ ≥ w)))`` under the
        null distribution of ``W+``.
    """
    if len(x) != len(y):
        raise ValueError(f'paired samples differ in length: {len(x)} and '
                         f'{len(y)}')
    diffs = [b - a for a, b in zip(x, y, strict=True)]
    mean_diff = sum(diffs) / len(diffs) if diffs else math.nan
    nonzero = [d for d in diffs if d != 0]
    if not nonzero:
        return PairedTest(0, 0.0, math.nan, mean_diff)
    ranks = average_ranks([abs(d) for d in nonzero])
    doubled = [round(2 * r) for r in ranks]  # integers, ties exact
    w2 = sum(r for r, d in zip(doubled, nonzero, strict=True) if d > 0)
    # counts[s]: sign patterns whose positive doubled ranks sum to s
    counts = [1] + [0] * sum(doubled)
    for r in doubled:
        for s in range(len(counts) - 1, r - 1, -1):
            counts[s] += counts[s - r]
    total = 2**len(doubled)
    lower = sum(counts[:w2 + 1]) / total
    upper = sum(counts[w2:]) / total
    return PairedTest(len(nonzero), w2 / 2, min(1.0, 2 * min(lower, upper)),
                      mean_diff)
