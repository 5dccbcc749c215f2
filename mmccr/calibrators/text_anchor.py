"""Keep the tuned class text features close to the zero-shot ones.

The regulariser of KgCoOp (Yao et al., "Visual-Language Prompt Tuning with
Knowledge-guided Context Optimization", CVPR 2023) as a calibrator that any
learner can carry; the :class:`~mmccr.models.KgCoOp` learner owns the same
term as part of its method.
"""
from typing import Dict

from torch import Tensor

from mmccr.losses.text_deviation import FORMS, text_deviation
from mmccr.registry import CALIBRATORS

from .base import BaseCalibrator


@CALIBRATORS.register_module()
class TextAnchor(BaseCalibrator):
    """KgCoOp-style regulariser: tuned class prompts stay near zero-shot.

    Adds ``loss_text_anchor = λ · text_deviation(tuned, zero-shot)`` over the
    classes being trained, with the tuned features the learner's forward
    already computed (``output.text_features``; no extra text-encoder
    pass). The default, ``form='cosine'`` with λ = 8, is KgCoOp's official
    code, ``8 · (1 − mean cos)``; ``'squared_l2'`` is the paper's form,
    twice as large.

    Args:
        loss_weight (float): λ. Defaults to 8.0 (KgCoOp's value).
        form (str): ``'cosine'`` or ``'squared_l2'``. Defaults to
            ``'cosine'``.
    """

    def __init__(self, loss_weight: float = 8.0, form: str = 'cosine') -> None:
        super().__init__()
        if form not in FORMS:
            raise ValueError(f'form must be one of {FORMS}, got {form!r}')
        self.loss_weight = loss_weight
        self.form = form

    def loss(self, output, labels: Tensor, view) -> Dict[str, Tensor]:
        """``loss_text_anchor`` over the current (training) classes."""
        deviation = text_deviation(output.text_features,
                                   view.zero_shot_features(), self.form)
        return {'loss_text_anchor': self.loss_weight * deviation}
