"""Shared collection logic of the multi-label metrics."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric

from ..functional import group_means


class MultiLabelMetricBase(BaseMetric):
    """Collects logits and labels; reports per-group means.

    Subclasses implement :meth:`per_class`, returning named per-class value
    arrays; this class averages them over the class groups of the
    dataset's metainfo (``groups``) and names the results
    ``<prefix>/<metric>_<group>``.

    Args:
        groups (Sequence[str], optional): groups to report; defaults to every
            group in the dataset's metainfo (plus ``all`` and ``HM``).
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): key prefix.
    """

    def __init__(self,
                 groups: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.groups = None if groups is None else list(groups)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Keep each sample's logits, labels and image feature (numpy)."""
        for sample in data_samples:
            self.results.append({
                key: sample[key].cpu().numpy()
                for key in ('logits', 'gt_label', 'img_feat') if key in sample
            })

    def stack(self, results: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
        """Logits and targets ``(N, C)`` of the collected results."""
        return (np.stack([r['logits'] for r in results]),
                np.stack([r['gt_label'] for r in results]))

    def per_class(self, results: List[dict]) -> Dict[str, np.ndarray]:
        """Named per-class values ``(C,)``."""
        raise NotImplementedError

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Average every per-class value over the groups."""
        groups = dict((self.dataset_meta or {}).get('groups') or {})
        metrics = {}
        for name, values in self.per_class(results).items():
            for group, value in group_means(values, groups).items():
                if self.groups is None or group in self.groups:
                    metrics[f'{name}_{group}'] = value
        return metrics
