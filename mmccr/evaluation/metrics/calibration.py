"""Calibration metrics: ECE, ACE, MCE and PIECE per class group."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmccr.registry import METRICS

from ..functional import (
    ace,
    confidence_and_correct,
    confidence_gap,
    dclr_ece,
    dclr_mce,
    ece,
    mce,
    piece,
    proximity,
    reliability_bins,
    top1_errors,
    top1_pairs,
)
from ..functional.binning import check_bins
from ..functional.calibration import ACE_VARIANTS, MODES
from ..functional.mapping import MAPPINGS, class_probabilities
from ..functional.utils import check_pair
from .base import MultiLabelMetricBase

ITEMS = ('ECE', 'ACE', 'MCE', 'PIECE', 'Gap', 'mECE', 'mMCE')
DEFAULT_ITEMS = ITEMS[:4]
#: DCLR's class-wise items; not defined under the top-1 reading.
DCLR_ITEMS = ('mECE', 'mMCE')
#: ``mapping`` values: the per-class mappings and the DAC top-1 reading.
CALIBRATION_MAPPINGS = MAPPINGS + ('dac', )
#: A group is reported as degenerate above this share of positive decisions.
DEGENERATE_POSITIVE_SHARE = 0.95

_MODE_TEXT = {
    'binary': 'conf max(p, 1-p), correct = (p >= 0.5) == y, all known pairs',
    'prob': 'conf p, target y, all known pairs',
    'positive': 'conf p, correct = p >= 0.5, positive pairs only '
                '(degenerate: never sees a negative)',
}
_MAPPING_TEXT = {
    'sigmoid': 'p = sigmoid(logit)',
    'softmax': 'p = softmax of the logits over the evaluated classes',
    'platt_cv': 'pseudo-confidence p = sigmoid(a*logit + b), (a, b) fitted '
                'on the other half of the images (cross-fitted Platt '
                "scaling; mmccr's reconstruction)",
}


@METRICS.register_module()
class MultiLabelCalibration(MultiLabelMetricBase):
    """Calibration errors per class group, with reliability statistics.

    Every error is computed per class (float64, from logits) and averaged
    over the classes of a group; keys look like ``calib/ECE_base``, values
    are fractions (tables show ×100, the paper's ×10⁻²). Defaults follow the
    DAC code, which the CCR paper's numbers most likely used
    (``docs/metrics.md``). With ``mapping='dac'`` the errors are instead
    computed per group under the DAC evaluator's single-label reading.

    PIECE needs the proximity of each evaluation image: the mean distance of
    its feature to the ``k`` nearest *reference* features.
    ``ReferenceFeaturesHook`` sets :attr:`reference_features` to the
    training images' features before each evaluation; without them the
    evaluation set itself is the reference (each image's own feature
    excluded).

    After :meth:`compute_metrics`, ``details['warnings']`` lists the groups
    that are degenerate: more than 95 % of their known pairs decided
    positive, or every included confidence in one equal-width bin.

    Args:
        mode (str): ``'binary'`` (default), ``'prob'`` or ``'positive'``.
        n_bins (int): confidence bins. Defaults to 10.
        items (Sequence[str]): errors to report, from ECE, ACE, MCE, PIECE,
            ``Gap`` (the signed mean confidence minus accuracy; > 0:
            over-confident; no HM, as the harmonic mean of signed values
            means nothing) and DCLR's class-wise ``mECE`` / ``mMCE``.
            Defaults to the first four.
        mce_weighted (bool): count-weighted MCE (DAC code, ≤ ECE; default)
            or the textbook maximum gap (≥ ECE).
        ace_variant (str): ``'adaptive'`` (equal-mass bins, DAC code;
            default) or ``'nixon'``.
        k (int): neighbours for the PIECE proximity. Defaults to 5.
        n_prox_bins (int): equal-mass proximity bins of PIECE. Defaults to
            10.
        mapping (str): probabilities from logits: ``'sigmoid'`` (default),
            ``'softmax'`` over the classes, ``'platt_cv'`` (cross-fitted
            pseudo-confidence) or ``'dac'`` (the DAC evaluator: per group,
            softmax over the group's classes, one pair per image with the
            top-1 confidence, correct when the top-1 class is a label; one
            error per group; ``mode`` does not apply).
        dclr_bins (int): bins of ``mECE`` / ``mMCE``. Defaults to 15, as
            DCLR.
        groups, collect_device, prefix, note: see
            :class:`MultiLabelMetricBase`.
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
                 mapping: str = 'sigmoid',
                 dclr_bins: int = 15,
                 groups: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 note: Optional[str] = None) -> None:
        super().__init__(groups, collect_device, prefix, note)
        unknown = set(items) - set(ITEMS)
        if unknown:
            raise ValueError(
                f'Unknown items {sorted(unknown)}; choose from {ITEMS}')
        if mode not in MODES:
            raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
        if ace_variant not in ACE_VARIANTS:
            raise ValueError(f'ace_variant must be one of {ACE_VARIANTS}, '
                             f'got {ace_variant!r}')
        if mapping not in CALIBRATION_MAPPINGS:
            raise ValueError(f'mapping must be one of {CALIBRATION_MAPPINGS}'
                             f', got {mapping!r}')
        if mapping == 'dac' and set(items) & set(DCLR_ITEMS):
            raise ValueError(f"items {DCLR_ITEMS} are class-wise and not "
                             "defined under mapping='dac'; drop them or use "
                             'a per-class mapping')
        check_bins(n_bins)
        check_bins(n_prox_bins)
        check_bins(dclr_bins)
        self.mode = mode
        self.n_bins = n_bins
        self.items = tuple(items)
        self.mce_weighted = mce_weighted
        self.ace_variant = ace_variant
        self.k = k
        self.n_prox_bins = n_prox_bins
        self.mapping = mapping
        self.dclr_bins = dclr_bins
        self.reference_features: Optional[np.ndarray] = None

    def convention_lines(self) -> List[str]:
        """Mapping, pairs, bins and variants of the reported errors."""
        if self.mapping == 'dac':
            pairs = ("DAC-evaluator reading: per group, softmax over the "
                     "group's classes, one pair per image with a label "
                     '(top-1 confidence, correct = top-1 class in Y), one '
                     'error over the images')
        else:
            pairs = (f'{_MAPPING_TEXT[self.mapping]}; mode {self.mode} '
                     f'({_MODE_TEXT[self.mode]}); per-class errors averaged '
                     'over each group')
        lines = [
            f'{self.prefix}: {pairs}; {self.n_bins} equal-width bins '
            '[b/M, (b+1)/M) (DAC code); MCE '
            f"{'count-weighted' if self.mce_weighted else 'textbook max'}; "
            f'ACE {self.ace_variant}'
        ]
        if set(self.items) & set(DCLR_ITEMS):
            lines.append(
                f'{self.prefix}: mECE/mMCE = DCLR class-wise errors, '
                f'{self.dclr_bins} bins (lo, hi] on p, conf max(p, 1-p), '
                'correct |p - y| <= 0.5; mMCE = largest over-confidence')
        return lines

    def _proximity(self, results: List[dict]) -> np.ndarray:
        feats = np.stack([r['img_feat'] for r in results]).astype(np.float64)
        if self.reference_features is None:
            return proximity(feats, feats, self.k, exclude_self=True)
        return proximity(feats, self.reference_features, self.k)

    def per_class(self, results: List[dict]) -> Dict[str, np.ndarray]:
        """The per-class errors (none under the top-1 reading)."""
        if self.mapping == 'dac':
            return {}
        logits, targets = self.stack(results)
        kw = dict(mode=self.mode, n_bins=self.n_bins, mapping=self.mapping)
        functions = {
            'ECE': lambda: ece(logits, targets, **kw),
            'ACE': lambda: ace(logits, targets, variant=self.ace_variant,
                               **kw),
            'MCE': lambda: mce(logits, targets, weighted=self.mce_weighted,
                               **kw),
            'Gap': lambda: confidence_gap(logits, targets, mode=self.mode,
                                          mapping=self.mapping),
            'PIECE': lambda: piece(
                logits, targets, self._proximity(results), mode=self.mode,
                n_conf_bins=self.n_bins, n_prox_bins=self.n_prox_bins,
                mapping=self.mapping),
            'mECE': lambda: dclr_ece(logits, targets, n_bins=self.dclr_bins,
                                     mapping=self.mapping),
            'mMCE': lambda: dclr_mce(logits, targets, n_bins=self.dclr_bins,
                                     mapping=self.mapping),
        }
        return {k: functions[k]() for k in self.items}

    def per_group(self, results: List[dict],
                  columns: List[int]) -> Dict[str, float]:
        """Under ``mapping='dac'``: the errors of the group's top-1 pairs."""
        if self.mapping != 'dac':
            return {}
        logits, targets = self.stack(results)
        prox = self._proximity(results) if 'PIECE' in self.items else None
        return top1_errors(logits[:, columns], targets[:, columns],
                           self.items, n_bins=self.n_bins,
                           mce_weighted=self.mce_weighted,
                           ace_variant=self.ace_variant, proximity=prox,
                           n_prox_bins=self.n_prox_bins)

    def _pair_table(self, logits: np.ndarray, targets: np.ndarray
                    ) -> Callable[[List[int]], Tuple[np.ndarray, np.ndarray,
                                                     Optional[float]]]:
        """A function of a group's columns: its included confidences and
        correctness, and the share of its known pairs decided positive
        (None under ``'dac'``).

        Per-class mappings are computed once on all classes (a softmax
        runs over every evaluated class, Platt scaling is fitted on all of
        them, as for the errors); ``'dac'`` works on the group's columns.
        """
        if self.mapping == 'dac':
            def top1(members):
                conf, correct, include = top1_pairs(logits[:, members],
                                                    targets[:, members])
                return conf[include], correct[include], None
            return top1
        conf, correct, include = confidence_and_correct(
            logits, targets, self.mode, self.mapping)
        _, _, decision = class_probabilities(logits, targets, self.mapping)
        known = targets >= 0

        def per_class(members):
            keep, seen = include[:, members], known[:, members]
            share = float(decision[:, members][seen].mean()) \
                if seen.any() else None
            return conf[:, members][keep], correct[:, members][keep], share
        return per_class

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Errors per group; :attr:`details` gains reliability statistics
        and degenerate-group warnings."""
        metrics = super().compute_metrics(results)
        pairs_of = self._pair_table(*check_pair(*self.stack(results)))
        per_class_ece = self.details['per_class'].get('ECE')
        groups, warnings = {}, []
        for group, members in self.class_groups().items():
            conf, correct, share = pairs_of(members)
            stats = reliability_bins(conf, correct, self.n_bins)
            stats = {k: np.asarray(v, dtype=np.float64) for k, v in
                     stats.items()}
            filled = stats['count'] > 0
            warnings += self._degenerate(group, share, stats, len(conf))
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
                n_pairs=len(conf),
                n_classes=len(members))
        self.details['reliability'] = dict(
            mode=self.mode, mapping=self.mapping, n_bins=self.n_bins,
            binning='width', groups=groups)
        self.details['warnings'] = warnings
        return metrics

    def _degenerate(self, group: str, share: Optional[float], stats: dict,
                    n_pairs: int) -> List[str]:
        """Warnings for a degenerate group (see the class notes)."""
        out = []
        if share is not None and share > DEGENERATE_POSITIVE_SHARE:
            out.append(
                f"{self.prefix}: group '{group}' is degenerate: "
                f'{100 * share:.1f}% of its known (image, class) pairs are '
                f'predicted positive (> {100 * DEGENERATE_POSITIVE_SHARE:.0f}'
                '%), so its errors mostly measure how rare positives are')
        filled = np.flatnonzero(stats['count'] > 0)
        if n_pairs > 1 and len(filled) == 1:
            lo, hi = stats['edges'][filled[0]], stats['edges'][filled[0] + 1]
            out.append(
                f"{self.prefix}: group '{group}' is degenerate: all "
                f'{n_pairs} included confidences fall in one bin '
                f'[{lo:.2f}, {hi:.2f}], so its binned errors reduce to one '
                'accuracy-confidence difference')
        return out
