"""Calibration errors of multi-label predictions, per class.

Conventions (``docs/metrics.md``): computed in float64 from logits; each
class's included (image, class) pairs (see :func:`confidence_and_correct`)
are binned on their own and give one error per class, a plain fraction in
[0, 1], NaN for a class without an included pair. The bins are those of
:mod:`.binning`: equal-width bins follow the DAC code (``[b/M, (b+1)/M)``;
a confidence of exactly 1.0 is left out of the averages but counted in the
last bin's weight), equal-mass bins drop duplicate quantile edges.
"""
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from .binning import (
    bin_statistics,
    check_bins,
    confidence_bins,
    quantile_edges,
    quantile_index,
    width_edges,
)
from .mapping import class_probabilities, top1_pairs
from .utils import Array, as_float64, check_pair

MODES = ('binary', 'prob', 'positive')
ACE_VARIANTS = ('adaptive', 'nixon')


def confidence_and_correct(logits: Array, targets: Array, mode: str,
                           mapping: str = 'sigmoid'
                           ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (image, class) confidence, correctness and inclusion mask.

    With p the probability of the pair under ``mapping`` (see
    :mod:`.mapping`; ``'sigmoid'``: ``p = sigmoid(z)``):

    * ``'binary'``: confidence ``max(p, 1 - p)`` (``sigmoid(|z|)``), correct
      iff the decision ``p >= 0.5`` equals the label; all known pairs.
    * ``'prob'``: confidence ``p``, "correct" is the label itself; all known
      pairs.
    * ``'positive'``: confidence ``p``, correct iff ``p >= 0.5``; only
      positive pairs (degenerate: predicting 1 everywhere scores 0 error).

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is never included.
        mode (str): ``'binary'``, ``'prob'`` or ``'positive'``.
        mapping (str): ``'sigmoid'`` (default), ``'softmax'`` or
            ``'platt_cv'``.

    Returns:
        tuple: float64 ``conf`` and ``correct`` and boolean ``include``,
        each ``(N, C)``.
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    logits, targets = check_pair(logits, targets)
    p, q, decision = class_probabilities(logits, targets, mapping)
    known = targets >= 0
    positive = targets == 1
    if mode == 'binary':
        conf = np.where(decision, p, q)
        correct = (decision == positive).astype(np.float64)
        return conf, correct, known
    if mode == 'prob':
        return p, positive.astype(np.float64), known
    return p, decision.astype(np.float64), positive


def _per_class(logits: Array, targets: Array, mode: str,
               error: Callable[[np.ndarray, np.ndarray, np.ndarray], float],
               mapping: str = 'sigmoid') -> np.ndarray:
    """Apply ``error(conf, correct, keep)`` to each class's included pairs.

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}.
        mode (str): see :func:`confidence_and_correct`.
        error (Callable): maps the class's included confidences ``(n,)``,
            correctness ``(n,)`` and inclusion mask ``(N,)`` to a float.
        mapping (str): see :func:`confidence_and_correct`.

    Returns:
        np.ndarray: ``(C,)``; NaN for a class without an included pair.
    """
    conf, correct, include = confidence_and_correct(logits, targets, mode,
                                                    mapping)
    out = np.full(conf.shape[1], np.nan)
    for c in range(conf.shape[1]):
        keep = include[:, c]
        if keep.any():
            out[c] = error(conf[keep, c], correct[keep, c], keep)
    return out


def _ece_of(conf: np.ndarray, correct: np.ndarray, n_bins: int,
            binning: str = 'width') -> float:
    """ECE of one set of (confidence, correct) pairs."""
    stats = confidence_bins(conf, correct, n_bins, binning)
    return float((stats['weight'] * stats['gap']).sum())


def _mce_of(conf: np.ndarray, correct: np.ndarray, n_bins: int,
            weighted: bool) -> float:
    """MCE of one set of pairs on equal-width DAC bins."""
    stats = confidence_bins(conf, correct, n_bins, 'width')
    if weighted:
        return float((stats['weight'] * stats['gap']).max())
    filled = stats['members'] > 0
    return float(stats['gap'][filled].max()) if filled.any() else 0.0


def _nixon_of(conf: np.ndarray, correct: np.ndarray, n_bins: int) -> float:
    """Nixon-style ACE of one set of pairs (equal-count ranges)."""
    stats = bin_statistics(_split_index(conf, n_bins), conf, correct, n_bins)
    return float((stats['weight'] * stats['gap']).sum())


def _ace_of(conf: np.ndarray, correct: np.ndarray, n_bins: int,
            variant: str) -> float:
    """ACE of one set of pairs: ``'adaptive'`` or ``'nixon'``."""
    if variant == 'adaptive':
        return _ece_of(conf, correct, n_bins, 'mass')
    return _nixon_of(conf, correct, n_bins)


def _piece_of(conf: np.ndarray, correct: np.ndarray, prox: np.ndarray,
              n_conf_bins: int, n_prox_bins: int) -> float:
    """PIECE of one set of pairs with their proximities ``prox``."""
    interior = width_edges(n_conf_bins)[1:-1]
    prox_edges = quantile_edges(prox, n_prox_bins)
    cell = quantile_index(prox, prox_edges) * n_conf_bins + \
        np.digitize(conf, interior)
    n_cells = (len(prox_edges) - 1) * n_conf_bins
    stats = bin_statistics(cell, conf, correct, n_cells)
    return float((stats['weight'] * stats['gap']).sum())


def ece(logits: Array, targets: Array, *, mode: str = 'binary',
        n_bins: int = 10, binning: str = 'width',
        mapping: str = 'sigmoid') -> np.ndarray:
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
        mapping (str): probability mapping (:mod:`.mapping`). Defaults to
            ``'sigmoid'``.

    Returns:
        np.ndarray: ECE per class ``(C,)`` in [0, 1]; NaN for a class with
        no included pair.
    """
    check_bins(n_bins, binning)
    return _per_class(
        logits, targets, mode,
        lambda conf, correct, _: _ece_of(conf, correct, n_bins, binning),
        mapping)


def confidence_gap(logits: Array, targets: Array, *, mode: str = 'binary',
                   mapping: str = 'sigmoid') -> np.ndarray:
    """Signed calibration gap per class: mean confidence minus accuracy.

    Positive: over-confident; negative: under-confident. Unlike ECE it is
    not binned, so over- and under-confident pairs of a class cancel.

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped.
        mode (str): ``'binary'`` (default), ``'prob'`` or ``'positive'``.
        mapping (str): probability mapping. Defaults to ``'sigmoid'``.

    Returns:
        np.ndarray: gap per class ``(C,)`` in [-1, 1]; NaN for a class with
        no included pair.
    """
    return _per_class(logits, targets, mode,
                      lambda conf, correct, _: float(conf.mean()
                                                     - correct.mean()),
                      mapping)


def mce(logits: Array, targets: Array, *, mode: str = 'binary',
        n_bins: int = 10, weighted: bool = True,
        mapping: str = 'sigmoid') -> np.ndarray:
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
        mapping (str): probability mapping. Defaults to ``'sigmoid'``.

    Returns:
        np.ndarray: MCE per class ``(C,)`` in [0, 1]; NaN for a class with
        no included pair.
    """
    check_bins(n_bins)
    return _per_class(
        logits, targets, mode,
        lambda conf, correct, _: _mce_of(conf, correct, n_bins, weighted),
        mapping)


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
        n_bins: int = 10, variant: str = 'adaptive',
        mapping: str = 'sigmoid') -> np.ndarray:
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
        mapping (str): probability mapping. Defaults to ``'sigmoid'``.

    Returns:
        np.ndarray: ACE per class ``(C,)`` in [0, 1]; NaN for a class with
        no included pair.
    """
    if variant not in ACE_VARIANTS:
        raise ValueError(f'variant must be one of {ACE_VARIANTS}, got '
                         f'{variant!r}')
    check_bins(n_bins)
    return _per_class(
        logits, targets, mode,
        lambda conf, correct, _: _ace_of(conf, correct, n_bins, variant),
        mapping)


def piece(logits: Array, targets: Array, proximity: Array, *,
          mode: str = 'binary', n_conf_bins: int = 10,
          n_prox_bins: int = 10, mapping: str = 'sigmoid') -> np.ndarray:
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
        mapping (str): probability mapping. Defaults to ``'sigmoid'``.

    Returns:
        np.ndarray: PIECE per class ``(C,)`` in [0, 1]; NaN for a class with
        no included pair.
    """
    prox = _check_proximity(proximity, len(logits))
    check_bins(n_conf_bins)
    check_bins(n_prox_bins, 'mass')
    return _per_class(
        logits, targets, mode,
        lambda conf, correct, keep: _piece_of(conf, correct, prox[keep],
                                              n_conf_bins, n_prox_bins),
        mapping)


def _check_proximity(proximity: Array, num: int) -> np.ndarray:
    """``proximity`` as float64 ``(num,)``, or a ``ValueError``."""
    prox = as_float64(proximity)
    if prox.shape != (num, ):
        raise ValueError(f'proximity must be (N,) = ({num},), got '
                         f'{prox.shape}')
    return prox


#: Items of :func:`top1_errors`.
TOP1_ITEMS = ('ECE', 'ACE', 'MCE', 'PIECE', 'Gap')


def top1_errors(logits: Array, targets: Array, items: Sequence[str], *,
                n_bins: int = 10, mce_weighted: bool = True,
                ace_variant: str = 'adaptive',
                proximity: Optional[Array] = None,
                n_prox_bins: int = 10) -> Dict[str, float]:
    """Calibration errors under the DAC evaluator's reading.

    One (confidence, correct) pair per image with a known positive
    (:func:`~.mapping.top1_pairs`: softmax over the given classes, top-1
    confidence, correct = top-1 class among the labels), and one error over
    all those images, as the DAC code computes single-label errors. Bins
    and variants as in the per-class functions.

    Args:
        logits: logits ``(N, C)`` of the classes to compete (e.g. one
            group's columns).
        targets: labels ``(N, C)`` in {1, 0, -1}.
        items (Sequence[str]): from :data:`TOP1_ITEMS`.
        n_bins (int): confidence bins. Defaults to 10.
        mce_weighted (bool): count-weighted MCE. Defaults to True.
        ace_variant (str): ``'adaptive'`` (default) or ``'nixon'``.
        proximity: proximity of each image ``(N,)``; needed for PIECE.
        n_prox_bins (int): equal-mass proximity bins of PIECE.

    Returns:
        dict: item -> error (NaN when no image has a known positive).
    """
    conf, correct, include = top1_pairs(logits, targets)
    conf, correct = conf[include], correct[include]
    if 'PIECE' in items:
        if proximity is None:
            raise ValueError('top1_errors: PIECE needs the proximity of '
                             'each image')
        prox = _check_proximity(proximity, len(include))[include]
    functions = {
        'ECE': lambda: _ece_of(conf, correct, n_bins),
        'ACE': lambda: _ace_of(conf, correct, n_bins, ace_variant),
        'MCE': lambda: _mce_of(conf, correct, n_bins, mce_weighted),
        'PIECE': lambda: _piece_of(conf, correct, prox, n_bins, n_prox_bins),
        'Gap': lambda: float(conf.mean() - correct.mean()),
    }
    unknown = set(items) - set(functions)
    if unknown:
        raise ValueError(f'Unknown items {sorted(unknown)}; choose from '
                         f'{TOP1_ITEMS}')
    if not len(conf):
        return {item: float('nan') for item in items}
    return {item: functions[item]() for item in items}


def dclr_bins(logits: Array, targets: Array, n_bins: int = 15,
              mapping: str = 'sigmoid') -> Tuple[np.ndarray, ...]:
    """Per-class bin statistics of DCLR's class-wise multi-label errors.

    ``wkml/MLCC-DCLR``, ``compute_classwise_{ece,mce}_multi``: for class c,
    its known pairs are binned on **p itself** into ``n_bins`` equal-width
    bins ``(b/M, (b+1)/M]`` (left-open, right-closed, so p = 0 is in no bin
    but still counts in N_c); within a bin the confidence is
    ``max(p, 1 - p)`` and a pair is correct when ``|p - y| <= 0.5``.

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}; -1 is skipped (DCLR's code
            turns -1 into 0).
        n_bins (int): bins. Defaults to 15, as DCLR.
        mapping (str): probability mapping. Defaults to ``'sigmoid'``.

    Returns:
        tuple: ``weight``, ``acc`` and ``conf``, each ``(C, n_bins)``
        (``n_b / N_c``; bin means, NaN for empty bins), and ``n`` ``(C,)``,
        the known pairs per class.
    """
    check_bins(n_bins)
    logits, targets = check_pair(logits, targets)
    p, q, _ = class_probabilities(logits, targets, mapping)
    edges = width_edges(n_bins)
    shape = (p.shape[1], n_bins)
    weight, acc, conf = np.zeros(shape), np.full(shape, np.nan), \
        np.full(shape, np.nan)
    known = targets >= 0
    for c in range(p.shape[1]):
        keep = known[:, c]
        pc, qc, yc = p[keep, c], q[keep, c], targets[keep, c]
        index = np.searchsorted(edges, pc, side='left') - 1  # (lo, hi]
        stats = bin_statistics(index, np.maximum(pc, qc),
                               (np.abs(pc - yc) <= 0.5).astype(np.float64),
                               n_bins)
        weight[c], acc[c], conf[c] = stats['weight'], stats['acc'], \
            stats['conf']
    return weight, acc, conf, known.sum(0)


def dclr_ece(logits: Array, targets: Array, *, n_bins: int = 15,
             mapping: str = 'sigmoid') -> np.ndarray:
    """DCLR's class-wise ECE (``mECE`` averaged over classes by the caller).

    ``ECE_c = sum_b (n_b / N_c) |acc_b - conf_b|`` on the bins of
    :func:`dclr_bins` (binned on p, confidence ``max(p, 1 - p)``).

    Returns:
        np.ndarray: ``(C,)``; NaN for a class without a known pair.
    """
    weight, acc, conf, n = dclr_bins(logits, targets, n_bins, mapping)
    out = np.nansum(weight * np.abs(acc - conf), axis=1)
    return np.where(n > 0, out, np.nan)


def dclr_mce(logits: Array, targets: Array, *, n_bins: int = 15,
             mapping: str = 'sigmoid') -> np.ndarray:
    """DCLR's class-wise MCE: the largest over-confidence of a bin.

    ``MCE_c = max(0, max_b (conf_b - acc_b))`` over the non-empty bins of
    :func:`dclr_bins`: signed, so under-confident bins never count, and 0
    when no bin is over-confident.

    Returns:
        np.ndarray: ``(C,)``; NaN for a class without a known pair.
    """
    _, acc, conf, n = dclr_bins(logits, targets, n_bins, mapping)
    over = np.where(np.isnan(acc), 0.0, conf - acc)
    return np.where(n > 0, np.maximum(over.max(axis=1), 0.0), np.nan)
