"""Calibration metrics."""
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmccr.registry import METRICS

from ..functional import ece
from .base import MultiLabelMetricBase


@METRICS.register_module()
class MultiLabelCalibration(MultiLabelMetricBase):
    """Calibration errors per class group.

    Keys: ``calib/ECE_<group>`` as fractions in [0, 1] (tables multiply by
    100, the paper's ×10⁻²).

    Args:
        mode (str): ``'binary'`` (default), ``'prob'`` or ``'positive'``; see
            ``docs/metrics.md``.
        n_bins (int): number of equal-width bins. Defaults to 10.
        groups, collect_device, prefix: see :class:`MultiLabelMetricBase`.
    """

    default_prefix = 'calib'

    def __init__(self,
                 mode: str = 'binary',
                 n_bins: int = 10,
                 groups: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(groups, collect_device, prefix)
        self.mode = mode
        self.n_bins = n_bins

    def per_class(self, results: List[dict]) -> Dict[str, np.ndarray]:
        """ECE per class."""
        logits, targets = self.stack(results)
        return {'ECE': ece(logits, targets, mode=self.mode,
                           n_bins=self.n_bins)}
