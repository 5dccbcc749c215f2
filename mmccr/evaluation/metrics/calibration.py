"""Calibration metrics: ECE, ACE, MCE and PIECE per class group."""
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmccr.registry import METRICS

from ..functional import (
    ace,
    confidence_and_correct,
    confidence_gap,
    ece,
    mce,
    piece,
    proximity,
    reliability_bins,
)
from ..functional.binning import check_bins
from ..functional.calibration import ACE_VARIANTS, MODES
from ..functional.utils import check_pair
from .base import MultiLabelMetricBase

ITEMS = ('ECE', 'ACE', 'MCE', 'PIECE', 'Gap')
DEFAULT_ITEMS = ITEMS[:4]


@METRICS.register_module()
class MultiLabelCalibration(MultiLabelMetricBase):
    """Calibration errors per class group, with reliability statistics.

    Every error is computed per class (float64, from logits) and averaged
    over the classes of a group; keys look like ``calib/ECE_base``, values
    are fractions (tables show ×100, the paper's ×10⁻²). Defaults follow the
    DAC code, which the CCR paper's numbers most likely used
    (``docs/metrics.md``).

    PIECE needs the proximity of each evaluation image: the mean distance of
    its feature to the ``k`` nearest *reference* features.
    ``ReferenceFeaturesHook`` sets :attr:`reference_features` to the
    training images' features before each evaluation; without them the
    evaluation set itself is the reference (each image's own feature
    excluded).

    Args:
        mode (str): ``'binary'`` (default), ``'prob'`` or ``'positive'``.
        n_bins (int): confidence bins. Defaults to 10.
        items (Sequence[str]): errors to report, from ECE, ACE, MCE, PIECE
            and ``Gap``, the signed mean confidence minus accuracy (> 0:
            over-confident; no HM, as the harmonic mean of signed values
            means nothing). Defaults to the first four.
        mce_weighted (bool): count-weighted MCE (DAC code, ≤ ECE; default)
            or the textbook maximum gap (≥ ECE).
        ace_variant (str): ``'adaptive'`` (equal-mass bins, DAC code;
            default) or ``'nixon'``.
        k (int): neighbours for the PIECE proximity. Defaults to 5.
        n_prox_bins (int): equal-mass proximity bins of PIECE. Defaults to
            10.
        groups, collect_device, prefix: see :class:`MultiLabelMetricBase`.
    """

    default_prefix = 'calib'
    #: Asks ``ReferenceFeaturesHook`` for training-image features.
    needs_reference_features = True

    def __init__(self,
                 mode: str = 'binary',
                 n_bins: int = 10,
                 items: Sequence[str] = DEFAULT_ITEMS,
                 mce_weighted: bool = True,
                 ace_variant: str = 'adaptive',
                 k: int = 5,
                 n_prox_bins: int = 10,
                 groups: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(groups, collect_device, prefix)
        unknown = set(items) - set(ITEMS)
        if unknown:
            raise ValueError(
                f'Unknown items {sorted(unknown)}; choose from {ITEMS}')
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        if ace_variant not in ACE_VARIANTS:
            raise ValueError(f'ace_variant must be one of {ACE_VARIANTS}, '
                             f'got {ace_variant!r}')
        check_bins(n_bins)
        check_bins(n_prox_bins)
        self.mode = mode
        self.n_bins = n_bins
        self.items = tuple(items)
        self.mce_weighted = mce_weighted
        self.ace_variant = ace_variant
        self.k = k
        self.n_prox_bins = n_prox_bins
        self.reference_features: Optional[np.ndarray] = None

    def _proximity(self, results: List[dict]) -> np.ndarray:
        feats = np.stack([r['img_feat'] for r in results]).astype(np.float64)
        if self.reference_features is None:
            return proximity(feats, feats, self.k, exclude_self=True)
        return proximity(feats, self.reference_features, self.k)

    def per_class(self, results: List[dict]) -> Dict[str, np.ndarray]:
        """The per-class errors."""
        logits, targets = self.stack(results)
        kw = dict(mode=self.mode, n_bins=self.n_bins)
        functions = {
            'ECE': lambda: ece(logits, targets, **kw),
            'ACE': lambda: ace(logits, targets, variant=self.ace_variant,
                               **kw),
            'MCE': lambda: mce(logits, targets, weighted=self.mce_weighted,
                               **kw),
            'Gap': lambda: confidence_gap(logits, targets, mode=self.mode),
            'PIECE': lambda: piece(
                logits, targets, self._proximity(results), mode=self.mode,
                n_conf_bins=self.n_bins, n_prox_bins=self.n_prox_bins),
        }
        return {k: functions[k]() for k in self.items}

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Errors per group; :attr:`details` gains reliability statistics."""
        metrics = super().compute_metrics(results)
        logits, targets = check_pair(*self.stack(results))
        conf, correct, include = confidence_and_correct(
            logits, targets, self.mode)
        per_class_ece = self.details['per_class'].get('ECE')
        groups = {}
        for group, members in self.class_groups().items():
            keep = include[:, members]
            stats = reliability_bins(conf[:, members][keep],
                                     correct[:, members][keep], self.n_bins)
            stats = {k: np.asarray(v, dtype=np.float64) for k, v in
                     stats.items()}
            filled = stats['count'] > 0
            gaps = np.abs(stats['acc'] - stats['conf'])
            weights = stats['count'] / max(stats['count'].sum(), 1)
            class_ece = [per_class_ece[i] for i in members] \
                if per_class_ece else []
            class_ece = [v for v in class_ece if v is not None]
            groups[group] = dict(
                {k: [None if np.isnan(x) else float(x) for x in v]
                 for k, v in stats.items()},
                ece_pooled=float(np.nansum((weights * gaps)[filled])),
                ece_mean=float(np.mean(class_ece)) if class_ece else None,
                n_pairs=int(keep.sum()),
                n_classes=len(members))
        self.details['reliability'] = dict(
            mode=self.mode, n_bins=self.n_bins, binning='width',
            groups=groups)
        return metrics
