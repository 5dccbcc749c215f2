"""Binning of (confidence, correct) pairs, shared by all binned errors.

Two binnings of confidences in [0, 1]:

* ``'width'``: ``n_bins`` equal-width bins with the DAC-code conventions
  (``ml-stat-Sustech/CLIP_Calibration`` ``tools/metrics.py``): bin b holds
  ``[b/M, (b+1)/M)`` (left-closed); a confidence of exactly 1.0 is left out
  of every bin's accuracy and confidence averages but counted in the last
  bin's weight (numpy ``histogram`` closes its last bin).
* ``'mass'``: equal-mass bins (Mukhoti-style AdaECE, as in the DAC code's
  scikit-learn ``KBinsDiscretizer(strategy='quantile')``): edges at
  ``np.quantile(values, linspace(0, 1, n_bins + 1))`` with duplicate edges
  removed, samples assigned by ``searchsorted`` on the interior edges with
  ``side='right'``. Every sample is averaged, 1.0 included. Ties or
  saturated values give duplicate quantiles, hence *fewer effective bins*
  (``len(edges) - 1``); a constant input gives one bin. Only exact
  duplicates are removed (scikit-learn also merges bins narrower than
  1e-8, which would merge distinct float64 confidences near 1).

Every binned error reduces to :func:`bin_statistics` on an integer bin (or
cell) index per sample.
"""
from typing import Dict, Optional, Tuple

import numpy as np

from .utils import Array, as_float64

BINNINGS = ('width', 'mass')


def check_bins(n_bins: int, binning: str = 'width') -> None:
    """Raise ``ValueError`` on a bad bin count or an unknown binning."""
    if not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f'n_bins must be an integer >= 1, got {n_bins}')
    if binning not in BINNINGS:
        raise ValueError(f'binning must be one of {BINNINGS}, got '
                         f'{binning!r}')


def width_edges(n_bins: int) -> np.ndarray:
    """Equal-width edges ``(n_bins + 1,)`` on [0, 1]."""
    check_bins(n_bins)
    return np.linspace(0.0, 1.0, n_bins + 1)


def quantile_edges(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-mass bin edges with duplicate edges removed.

    Args:
        values (np.ndarray): values ``(N,)``, N >= 1.
        n_bins (int): requested number of bins.

    Returns:
        np.ndarray: increasing edges ``(B + 1,)`` with ``1 <= B <= n_bins``
        effective bins; ``[v, v]`` (one bin) when all values equal ``v``.
    """
    check_bins(n_bins)
    if len(values) == 0:
        raise ValueError('quantile_edges needs at least one value')
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_bins + 1)))
    if len(edges) == 1:
        edges = np.repeat(edges, 2)
    return edges


def quantile_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each value for :func:`quantile_edges` edges.

    A value on an interior edge goes to the upper bin; values below the
    first or above the last edge go to the first or last bin.

    Args:
        values (np.ndarray): values ``(N,)``.
        edges (np.ndarray): edges ``(B + 1,)``.

    Returns:
        np.ndarray: integer bin index ``(N,)`` in ``[0, B)``.
    """
    return np.searchsorted(edges[1:-1], values, side='right')


def bin_statistics(index: np.ndarray,
                   conf: np.ndarray,
                   correct: np.ndarray,
                   n_bins: int,
                   counts: Optional[np.ndarray] = None
                   ) -> Dict[str, np.ndarray]:
    """Per-bin counts, mean accuracy, mean confidence, weights and gaps.

    Args:
        index (np.ndarray): bin (or grid cell) of each sample ``(N,)``;
            values outside ``[0, n_bins)`` are left out of the averages.
        conf (np.ndarray): confidences ``(N,)``.
        correct (np.ndarray): correctness or targets ``(N,)`` in {0, 1}.
        n_bins (int): number of bins (or cells).
        counts (np.ndarray, optional): per-bin counts for the weights
            ``(n_bins,)``; defaults to the number of averaged members.

    Returns:
        dict: ``count`` (weight counts), ``members`` (samples averaged),
        ``acc`` and ``conf`` (means over members, NaN without members),
        ``weight`` (``count / N``) and ``gap`` (``|acc - conf|``, 0 without
        members), each ``(n_bins,)``.
    """
    index = np.asarray(index, dtype=np.int64)
    inside = (index >= 0) & (index < n_bins)
    idx = index[inside]
    members = np.bincount(idx, minlength=n_bins)
    sum_conf = np.bincount(idx, conf[inside], minlength=n_bins)
    sum_acc = np.bincount(idx, correct[inside], minlength=n_bins)
    filled = members > 0
    mean_acc = np.full(n_bins, np.nan)
    mean_conf = np.full(n_bins, np.nan)
    mean_acc[filled] = sum_acc[filled] / members[filled]
    mean_conf[filled] = sum_conf[filled] / members[filled]
    gap = np.zeros(n_bins)
    gap[filled] = np.abs(mean_acc[filled] - mean_conf[filled])
    count = members if counts is None else np.asarray(counts)
    return dict(count=count, members=members, acc=mean_acc, conf=mean_conf,
                weight=count / max(len(conf), 1), gap=gap)


def confidence_bins(conf: np.ndarray, correct: np.ndarray, n_bins: int = 10,
                    binning: str = 'width') -> Dict[str, np.ndarray]:
    """:func:`bin_statistics` on ``'width'`` or ``'mass'`` bins, plus edges.

    Args:
        conf (np.ndarray): confidences ``(N,)`` in [0, 1].
        correct (np.ndarray): correctness or targets ``(N,)`` in {0, 1}.
        n_bins (int): number of (requested) bins.
        binning (str): ``'width'`` (DAC conventions) or ``'mass'``.

    Returns:
        dict: the :func:`bin_statistics` entries ``(B,)`` and ``edges``
        ``(B + 1,)``; ``B = n_bins`` for ``'width'``, ``B <= n_bins``
        effective bins for ``'mass'``.
    """
    check_bins(n_bins, binning)
    if binning == 'width':
        edges = width_edges(n_bins)
        counts, _ = np.histogram(conf, bins=edges)  # 1.0 in the last bin
        index = np.digitize(conf, edges) - 1  # 1.0 -> n_bins: no bin
        stats = bin_statistics(index, conf, correct, n_bins, counts)
    else:
        if len(conf) == 0:
            edges = np.linspace(0.0, 1.0, 2)  # nothing to bin: one bin
            index = np.zeros(0, dtype=np.int64)
        else:
            edges = quantile_edges(conf, n_bins)
            index = quantile_index(conf, edges)
        stats = bin_statistics(index, conf, correct, len(edges) - 1)
    stats['edges'] = edges
    return stats


def binned_gaps(conf: Array, correct: Array, n_bins: int = 10,
                binning: str = 'width') -> Tuple[np.ndarray, np.ndarray]:
    """Per-bin weights and gaps; ECE is ``(weights * gaps).sum()``.

    Args:
        conf: confidences ``(N,)`` in [0, 1].
        correct: correctness or targets ``(N,)`` in {0, 1}.
        n_bins (int): number of (requested) bins. Defaults to 10.
        binning (str): ``'width'`` (default; DAC conventions) or ``'mass'``
            (equal mass, duplicate edges removed).

    Returns:
        tuple: weights ``n_b / N`` ``(B,)`` and gaps ``|acc_b - conf_b|``
        ``(B,)`` (0 for bins without averaged members); ``B = n_bins`` for
        ``'width'``, the effective number of bins for ``'mass'``.
    """
    stats = confidence_bins(as_float64(conf), as_float64(correct), n_bins,
                            binning)
    return stats['weight'], stats['gap']


def reliability_bins(conf: Array, correct: Array, n_bins: int = 10, *,
                     binning: str = 'width') -> Dict[str, np.ndarray]:
    """Reliability-diagram statistics of pooled (confidence, correct) pairs.

    With the default ``'width'`` binning (DAC conventions) ``count`` is the
    bin's weight count, which includes confidences of exactly 1.0 in the
    last bin, while ``acc`` and ``conf`` average only the members below
    1.0; so the last bin can have a count but NaN means. ECE of the pairs is
    ``nansum(count / count.sum() * |acc - conf|)``.

    Args:
        conf: confidences ``(N,)`` in [0, 1].
        correct: correctness or targets ``(N,)`` in {0, 1}.
        n_bins (int): number of (requested) bins. Defaults to 10.
        binning (str): ``'width'`` (default) or ``'mass'``.

    Returns:
        dict: ``edges`` ``(B + 1,)``, ``count`` ``(B,)`` (int), ``acc``
        ``(B,)`` and ``conf`` ``(B,)`` (NaN for bins without averaged
        members); ``B = n_bins`` for ``'width'``.
    """
    stats = confidence_bins(as_float64(conf).ravel(),
                            as_float64(correct).ravel(), n_bins, binning)
    return {k: stats[k] for k in ('edges', 'count', 'acc', 'conf')}
