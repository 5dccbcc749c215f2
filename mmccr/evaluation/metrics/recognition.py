"""Recognition metrics: mAP and thresholded accuracy."""
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmccr.registry import METRICS

from ..functional import accuracy, average_precision
from .base import MultiLabelMetricBase


@METRICS.register_module()
class MultiLabelRecognition(MultiLabelMetricBase):
    """mAP and accuracy at a threshold, per class group.

    Keys: ``recog/mAP_<group>`` and ``recog/acc_<group>`` as fractions in
    [0, 1], for ``all``, the dataset's groups and ``HM``.

    Args:
        threshold (float): probability threshold of the accuracy. Defaults to
            0.5.
        groups, collect_device, prefix: see :class:`MultiLabelMetricBase`.
    """

    default_prefix = 'recog'

    def __init__(self,
                 threshold: float = 0.5,
                 groups: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(groups, collect_device, prefix)
        self.threshold = threshold

    def per_class(self, results: List[dict]) -> Dict[str, np.ndarray]:
        """AP and accuracy per class."""
        logits, targets = self.stack(results)
        return {
            'mAP': average_precision(logits, targets),
            'acc': accuracy(logits, targets, self.threshold),
        }
