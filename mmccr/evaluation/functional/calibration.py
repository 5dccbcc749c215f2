"""Calibration errors of multi-label predictions, per class.

Conventions (``docs/metrics.md``): computed in float64 from logits; each
class's included (image, class) pairs (see :func:`confidence_and_correct`)
are binned on their own and give one error per class, a plain fraction in
[0, 1], NaN for a class without an included pair. The bins are those of
:mod:`.binning`: equal-width bins follow the DAC code (``[b/M, (b+1)/M)``;
a confidence of exactly 1.0 is left out of the averages but counted in the
last bin's weight), equal-mass bins drop duplicate quantile edges.
"""
from typing import Callable, Tuple

import numpy as np

from .binning import (
    bin_statistics,
    check_bins,
    confidence_bins,
    quantile_edges,
    quantile_index,
    width_edges,
)
from .utils import Array, as_float64, check_pair, sigmoid

MODES = ('binary', 'prob', 'positive')
ACE_VARIANTS = ('adaptive', 'nixon')


def confidence_and_correct(logits: Array, targets: Array,
                           mode: str) -> Tuple[np.ndarray, np.ndarray,
                                               np.ndarray]:
    """Per (image, class) confidence, correctness and inclusion mask.

    * ``'binary'``: confidence ``max(p, 1 - p) = sigmoid(|z|)``, correct iff
      the decision ``p >= 0.5`` equals the label; all known pairs.
    * ``'prob'``: confidence ``p``, "correct" is the label itself; all known
      pairs.
    * ``'positive'``: confidence ``p``, correct iff ``p >= 0.5``; only
      positive pairs (degenerate: predicting 1 everywhere scores 0 error).

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is never included.
        mode (str): ``'binary'``, ``'prob'`` or ``'positive'``.

    Returns:
        tuple: float64 ``conf`` and ``correct`` and boolean ``include``,
        each ``(N, C)``.
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    logits, targets = check_pair(logits, targets)
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


def _per_class(logits: Array, targets: Array, mode: str,
               error: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
               ) -> np.ndarray:
    """Apply ``error(conf, correct, keep)`` to each class's included pairs.

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}.
        mode (str): see :func:`confidence_and_correct`.
        error (Callable): maps the class's included confidences ``(n,)``,
            correctness ``(n,)`` and inclusion mask ``(N,)`` to a float.

    Returns:
        np.ndarray: ``(C,)``; NaN for a class without an included pair.
    """
    conf, correct, include = confidence_and_correct(logits, targets, mode)
    out = np.full(conf.shape[1], np.nan)
    for c in range(conf.shape[1]):
        keep = include[:, c]
        if keep.any():
            out[c] = error(conf[keep, c], correct[keep, c], keep)
    return out


def ece(logits: Array, targets: Array, *, mode: str = 'binary',
        n_bins: int = 10, binning: str = 'width') -> np.ndarray:
    """Expected calibration error per class.

    ``ECE_c = sum_b (n_b / N_c) |acc_b - conf_b|`` over the bins of the
    class's included pairs.

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped.
        mode (str): ``'binary'`` (default), ``'prob'`` or ``'positive'``.
        n_bins (int): number of bins. Defaults to 10.
        binning (str): ``'width'`` (default; DAC conventions) or ``'mass'``
            (equal-mass; same as :func:`ace` ``'adaptive'``).

    Returns:
        np.ndarray: ECE per class ``(C,)`` in [0, 1]; NaN for a class with
        no included pair.
    """
    def error(conf, correct, _):
        stats = confidence_bins(conf, correct, n_bins, binning)
        return float((stats['weight'] * stats['gap']).sum())

    check_bins(n_bins, binning)
    return _per_class(logits, targets, mode, error)


def confidence_gap(logits: Array, targets: Array, *,
                   mode: str = 'binary') -> np.ndarray:
    """Signed calibration gap per class: mean confidence minus accuracy.

    Positive: over-confident; negative: under-confident. Unlike ECE it is
    not binned, so over- and under-confident pairs of a class cancel.

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped.
        mode (str): ``'binary'`` (default), ``'prob'`` or ``'positive'``.

    Returns:
        np.ndarray: gap per class ``(C,)`` in [-1, 1]; NaN for a class with
        no included pair.
    """
    return _per_class(logits, targets, mode,
                      lambda conf, correct, _: float(conf.mean()
                                                     - correct.mean()))


def mce(logits: Array, targets: Array, *, mode: str = 'binary',
        n_bins: int = 10, weighted: bool = True) -> np.ndarray:
    """Maximum calibration error per class, on equal-width DAC bins.

    * ``weighted=True`` (default; DAC and ProCal code):
      ``max_b (n_b / N) |acc_b - conf_b|``, always <= ECE.
    * ``weighted=False`` (textbook, Naeini/Guo; torchmetrics ``'max'``):
      ``max_b |acc_b - conf_b|`` over bins with averaged members, always
      >= ECE; 0 when no bin has one (all confidences exactly 1.0).

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped.
        mode (str): ``'binary'`` (default), ``'prob'`` or ``'positive'``.
        n_bins (int): number of bins. Defaults to 10.
        weighted (bool): count-weighted maximum. Defaults to True.

    Returns:
        np.ndarray: MCE per class ``(C,)`` in [0, 1]; NaN for a class with
        no included pair.
    """
    def error(conf, correct, _):
        stats = confidence_bins(conf, correct, n_bins, 'width')
        if weighted:
            return float((stats['weight'] * stats['gap']).max())
        filled = stats['members'] > 0
        return float(stats['gap'][filled].max()) if filled.any() else 0.0

    check_bins(n_bins)
    return _per_class(logits, targets, mode, error)


def _split_index(conf: np.ndarray, n_bins: int) -> np.ndarray:
    """Range of each sample when the sorted samples are split ``n_bins`` ways.

    The confidences are sorted (stable: ties keep the input order) and the
    order is cut like ``np.array_split``: the first ``N % n_bins`` ranges
    hold one sample more.

    Args:
        conf (np.ndarray): confidences ``(N,)``.
        n_bins (int): number of ranges.

    Returns:
        np.ndarray: range index ``(N,)`` in ``[0, n_bins)``.
    """
    q, r = divmod(len(conf), n_bins)
    sizes = np.full(n_bins, q)
    sizes[:r] += 1
    index = np.empty(len(conf), dtype=np.int64)
    index[np.argsort(conf, kind='stable')] = np.repeat(np.arange(n_bins),
                                                       sizes)
    return index


def ace(logits: Array, targets: Array, *, mode: str = 'binary',
        n_bins: int = 10, variant: str = 'adaptive') -> np.ndarray:
    """Adaptive (equal-mass) calibration error per class.

    * ``'adaptive'`` (default; the DAC code's AdaECE, after Mukhoti et al.):
      edges at the quantiles of the class's included confidences, duplicate
      edges removed, so ties or saturation leave *fewer effective bins*
      (one when all confidences are equal); samples on an interior edge go
      to the upper bin (scikit-learn ``KBinsDiscretizer`` quantile);
      ``sum_b (n_b / N) |acc_b - conf_b|``. Equals
      ``ece(..., binning='mass')``.
    * ``'nixon'`` (Nixon et al. 2019): the included pairs, sorted by
      confidence, are split into ``n_bins`` ranges of equal count
      (``np.array_split``; tied confidences may straddle two ranges, in
      input order); ``sum_r (n_r / N) |acc_r - conf_r|`` over non-empty
      ranges. Per class this is Nixon's class-conditional ACE of the
      probabilities (in ``'prob'`` mode); averaging over classes is left to
      the caller.

    No confidence is left out (unlike the equal-width 1.0 rule).

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped.
        mode (str): ``'binary'`` (default), ``'prob'`` or ``'positive'``.
        n_bins (int): number of (requested) bins. Defaults to 10.
        variant (str): ``'adaptive'`` (default) or ``'nixon'``.

    Returns:
        np.ndarray: ACE per class ``(C,)`` in [0, 1]; NaN for a class with
        no included pair.
    """
    if variant not in ACE_VARIANTS:
        raise ValueError(f'variant must be one of {ACE_VARIANTS}, got '
                         f'{variant!r}')
    if variant == 'adaptive':
        return ece(logits, targets, mode=mode, n_bins=n_bins,
                   binning='mass')

    def error(conf, correct, _):
        stats = bin_statistics(_split_index(conf, n_bins), conf, correct,
                               n_bins)
        return float((stats['weight'] * stats['gap']).sum())

    check_bins(n_bins)
    return _per_class(logits, targets, mode, error)


def piece(logits: Array, targets: Array, proximity: Array, *,
          mode: str = 'binary', n_conf_bins: int = 10,
          n_prox_bins: int = 10) -> np.ndarray:
    """Proximity-informed expected calibration error per class.

    Xiong et al. 2023 (ProCal code): every included (image, class) pair
    inherits its image's proximity; pairs are placed on a grid of
    equal-mass proximity bins (quantile edges of the class's included
    pairs' proximities, duplicates removed, upper bin on an edge) times
    equal-width confidence bins assigned by ``np.digitize`` over the
    interior edges (left-closed, and a confidence of 1.0 falls in the last
    bin, unlike the DAC ECE);
    ``PIECE_c = sum over non-empty cells (n_cell / N) |acc - conf|``.
    On data without confidences of exactly 1.0 PIECE >= ECE, and with
    ``n_prox_bins=1`` PIECE equals ECE.

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped.
        proximity: proximity of each image ``(N,)`` (see
            :func:`~.knn.proximity`).
        mode (str): ``'binary'`` (default), ``'prob'`` or ``'positive'``.
        n_conf_bins (int): equal-width confidence bins. Defaults to 10.
        n_prox_bins (int): (requested) equal-mass proximity bins. Defaults
            to 10.

    Returns:
        np.ndarray: PIECE per class ``(C,)`` in [0, 1]; NaN for a class with
        no included pair.
    """
    prox = as_float64(proximity)
    if prox.shape != (np.shape(logits)[0], ):
        raise ValueError(f'proximity must be (N,) = ({np.shape(logits)[0]},)'
                         f', got {prox.shape}')
    interior = width_edges(n_conf_bins)[1:-1]
    check_bins(n_prox_bins, 'mass')

    def error(conf, correct, keep):
        prox_edges = quantile_edges(prox[keep], n_prox_bins)
        cell = quantile_index(prox[keep], prox_edges) * n_conf_bins + \
            np.digitize(conf, interior)
        n_cells = (len(prox_edges) - 1) * n_conf_bins
        stats = bin_statistics(cell, conf, correct, n_cells)
        return float((stats['weight'] * stats['gap']).sum())

    return _per_class(logits, targets, mode, error)
