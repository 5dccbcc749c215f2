"""Recognition metrics: mAP, accuracies and F1."""
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmccr.registry import METRICS

from ..functional import (
    accuracy,
    average_precision,
    balanced_accuracy,
    example_accuracy,
    positive_accuracy,
    precision_recall_f1,
    top1_accuracy,
)
from .base import MultiLabelMetricBase

#: Per-class items (averaged over a group's classes).
PER_CLASS = ('mAP', 'acc', 'balanced_acc', 'positive_acc')
#: Items computed on a group's columns as a whole.
PER_GROUP = ('example_acc', 'top1_acc', 'CP', 'CR', 'CF1', 'OP', 'OR',
             'OF1')

#: How each accuracy form is named under the tables.
ACCURACY_FORMS = {
    'acc': 'acc[Hamming] = per-class accuracy over all known (image, class) '
           'pairs',
    'positive_acc': 'acc[pos-pairs] = recall over the positive pairs (the '
                    "CCR paper's '|Y| pairs (x, y_c), y_c in Y')",
    'top1_acc': 'acc[top-1∈Y] = share of images (with a label in the group) '
                "whose top-scoring class of the group is a label (the DAC "
                'evaluator)',
    'balanced_acc': 'balanced_acc = (TPR + TNR) / 2 per class',
}


@METRICS.register_module()
class MultiLabelRecognition(MultiLabelMetricBase):
    """mAP, accuracies at a threshold and F1 scores, per class group.

    Items (fractions in [0, 1]; ``docs/metrics.md`` defines each):
    per class and averaged over a group — ``mAP``, ``acc`` (Hamming),
    ``balanced_acc``, ``positive_acc`` (recall over positive pairs); on a
    group's columns — ``example_acc`` (Jaccard), ``top1_acc`` (top-1 class
    among the labels), ``CP``/``CR``/``CF1``, ``OP``/``OR``/``OF1``.
    Keys look like ``recog/mAP_base``.

    Args:
        threshold (float): probability threshold of the decisions.
            Defaults to 0.5.
        items (Sequence[str]): which items to report. Defaults to mAP,
            accuracy, CF1 and OF1.
        groups, collect_device, prefix, note: see
            :class:`MultiLabelMetricBase`.
    """

    default_prefix = 'recog'

    def __init__(self,
                 threshold: float = 0.5,
                 items: Sequence[str] = ('mAP', 'acc', 'CF1', 'OF1'),
                 groups: Optional[Sequence[str]] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 note: Optional[str] = None) -> None:
        super().__init__(groups, collect_device, prefix, note)
        unknown = set(items) - set(PER_CLASS + PER_GROUP)
        if unknown:
            raise ValueError(f'Unknown items {sorted(unknown)}; choose from '
                             f'{PER_CLASS + PER_GROUP}')
        self.threshold = threshold
        self.items = tuple(items)

    def convention_lines(self) -> List[str]:
        """Threshold and the accuracy forms reported."""
        forms = [text for item, text in ACCURACY_FORMS.items()
                 if item in self.items]
        return [f'{self.prefix}: decisions p >= {self.threshold} from '
                'sigmoid(logit); ' + '; '.join(forms)] if forms else []

    def per_class(self, results: List[dict]) -> Dict[str, np.ndarray]:
        """The per-class items."""
        logits, targets = self.stack(results)
        functions = {
            'mAP': lambda: average_precision(logits, targets),
            'acc': lambda: accuracy(logits, targets, self.threshold),
            'balanced_acc':
            lambda: balanced_accuracy(logits, targets, self.threshold),
            'positive_acc':
            lambda: positive_accuracy(logits, targets, self.threshold),
        }
        return {k: functions[k]() for k in self.items if k in functions}

    def per_group(self, results: List[dict],
                  columns: List[int]) -> Dict[str, float]:
        """The items computed on the group's columns."""
        wanted = [k for k in self.items if k in PER_GROUP]
        if not wanted:
            return {}
        logits, targets = self.stack(results)
        logits, targets = logits[:, columns], targets[:, columns]
        values = dict(precision_recall_f1(logits, targets, self.threshold))
        values['example_acc'] = example_accuracy(logits, targets,
                                                 self.threshold)
        values['top1_acc'] = top1_accuracy(logits, targets)
        return {k: float(values[k]) for k in wanted}
