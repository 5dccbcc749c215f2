"""Shared collection logic of the multi-label metrics."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric

from ..conventions import GROUP_MEANS_LINE
from ..functional import add_base_new_means, group_means


class MultiLabelMetricBase(BaseMetric):
    """Collects logits, labels and image features; reports per group.

    Subclasses return named per-class arrays from :meth:`per_class` (their
    group value is the mean over the group's classes) and, for metrics that
    do not decompose over classes, named values computed on a group's
    columns from :meth:`per_group`. Groups come from the dataset metainfo
    (``groups``: base / new / head / medium / tail) plus ``all``; ``HM`` is
    the harmonic and ``Avg`` the arithmetic mean of base and new (no ``HM``
    for the signed metrics named in :attr:`signed`). Keys are
    ``<prefix>/<metric>_<group>``.

    After :meth:`compute_metrics`, :attr:`details` holds the per-class values
    (lists, NaN as None) for reports. :meth:`conventions` states the
    metric's conventions in words for the tables.

    Args:
        groups (Sequence[str], optional): groups to report; defaults to all.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): key prefix.
        note (str, optional): a line printed under every table that shows
            this metric (e.g. a preset saying it is a reconstruction).
    """

    #: Metrics whose values may be negative: reported without ``HM``.
    signed: frozenset = frozenset({'Gap'})

    def __init__(self,
                 groups: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 note: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.groups = None if groups is None else list(groups)
        self.note = note
        self.details: dict = {}

    def conventions(self) -> List[str]:
        """Lines naming the conventions of the reported values.

        The ``note`` first, then the metric's own lines
        (:meth:`convention_lines`), then the definition of ``HM`` and
        ``Avg``.
        """
        return ([self.note] if self.note else []) + \
            self.convention_lines() + [GROUP_MEANS_LINE]

    def convention_lines(self) -> List[str]:
        """The metric's own convention lines (subclasses)."""
        return []

    #: Whether :meth:`process` keeps the image features (for proximity).
    needs_reference_features = False

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep each sample's logits, labels (and image feature) as numpy."""
        keys = ('logits', 'gt_label') + (
            ('img_feat', ) if self.needs_reference_features else ())
        for sample in data_samples:
            self.results.append({
                key: sample[key].cpu().numpy()
                for key in keys if key in sample
            })

    @staticmethod
    def stack(results: List[dict],
              key: str = 'logits') -> Tuple[np.ndarray, np.ndarray]:
        """Logits (or another key) and targets of the results, ``(N, C)``."""
        return (np.stack([r[key] for r in results]),
                np.stack([r['gt_label'] for r in results]))

    def class_groups(self) -> Dict[str, List[int]]:
        """``all`` plus the dataset's class groups (non-empty ones)."""
        meta = self.dataset_meta or {}
        num = len(meta.get('classes') or ())
        groups = {'all': list(range(num))} if num else {}
        groups.update({
            name: list(members)
            for name, members in (meta.get('groups') or {}).items()
            if len(members)
        })
        return groups

    def per_class(self, results: List[dict]) -> Dict[str, np.ndarray]:
        """Named per-class values ``(C,)``."""
        return {}

    def per_group(self, results: List[dict],
                  columns: List[int]) -> Dict[str, float]:
        """Named values computed on one group's columns."""
        return {}

    def check_finite(self, results: List[dict]) -> None:
        """Refuse to score non-finite logits (a diverged model).

        NaN compares false with every threshold, so NaN logits would count
        as "absent" and score a plausible accuracy; they are refused with
        their count and the first one instead.
        """
        logits = np.stack([r['logits'] for r in results])  # (N, C)
        bad = ~np.isfinite(logits)
        if not bad.any():
            return
        row, col = np.argwhere(bad)[0]
        names = (self.dataset_meta or {}).get('classes') or ()
        name = f' ({names[col]})' if col < len(names) else ''
        raise ValueError(
            f'{type(self).__name__}: {int(bad.sum())} non-finite logits (NaN '
            f'or inf) in {int(bad.any(axis=1).sum())} of {len(logits)} '
            f'samples; the first is sample {row} (dataset order), class '
            f'{col}{name}: {logits[row, col]}. Non-finite outputs cannot be '
            'scored: the model diverged or the checkpoint is damaged (see '
            'NonFiniteGuardHook in the training log).')

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Average per-class values over groups, add per-group values."""
        self.check_finite(results)
        groups = self.class_groups()
        if not groups:  # no metainfo: every column is one group
            groups = {'all': list(range(len(results[0]['gt_label'])))}
        table: Dict[str, Dict[str, float]] = {}
        per_class = self.per_class(results)
        for name, values in per_class.items():
            table[name] = group_means(
                values, {g: m for g, m in groups.items() if g != 'all'},
                signed=name in self.signed)
        for group, members in groups.items():
            for name, value in self.per_group(results, members).items():
                table.setdefault(name, {})[group] = value
        for name, values in table.items():
            add_base_new_means(values, signed=name in self.signed)
        self.details = {
            'per_class': {
                name: [None if np.isnan(v) else float(v) for v in values]
                for name, values in per_class.items()
            }
        }
        return {
            f'{name}_{group}': value
            for name, values in table.items()
            for group, value in values.items()
            if self.groups is None or group in self.groups
        }
