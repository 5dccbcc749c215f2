"""Keep tuned text features close to the hand-crafted (zero-shot) ones.

Shared by :class:`TextAnchor` (the KgCoOp regulariser on the training
classes; Yao et al., "Visual-Language Prompt Tuning with Knowledge-guided
Context Optimization", CVPR 2023) and :class:`~mmccr.calibrators.DOR`
(the same pull, on outlier words instead of the training classes).
"""
from typing import Dict

import torch.nn.functional as F
from torch import Tensor

from mmccr.registry import CALIBRATORS

from .base import BaseCalibrator

_FORMS = ('cosine', 'squared_l2')


def text_deviation(tuned: Tensor, zero_shot: Tensor,
                   form: str = 'cosine') -> Tensor:
    r"""Mean deviation of tuned text features from zero-shot ones.

    * ``'cosine'``: :math:`1 - \frac1N\sum_n \cos(t'_n, t_n)` (DOR);
    * ``'squared_l2'``: :math:`\frac1N\sum_n \|\hat t'_n - \hat t_n\|^2` of
      the unit-normalised features (KgCoOp), which equals twice the cosine
      form.

    Args:
        tuned (Tensor): tuned text features ``(N, D)``.
        zero_shot (Tensor): frozen zero-shot features ``(N, D)``; no
            gradient flows into them.
        form (str): ``'cosine'`` or ``'squared_l2'``.

    Returns:
        Tensor: scalar deviation, 0 when the features coincide.
    """
    if form not in _FORMS:
        raise ValueError(f'form must be one of {_FORMS}, got {form!r}')
    tuned = F.normalize(tuned.float(), dim=-1)
    zero_shot = F.normalize(zero_shot.detach().float(), dim=-1)
    if form == 'cosine':
        return 1 - (tuned * zero_shot).sum(-1).mean()
    return (tuned - zero_shot).pow(2).sum(-1).mean()


@CALIBRATORS.register_module()
class TextAnchor(BaseCalibrator):
    """KgCoOp-style regulariser: tuned class prompts stay near zero-shot.

    Adds ``loss_text_anchor = λ · text_deviation(tuned, zero-shot)`` over the
    classes being trained. Costs one extra text-encoder pass per iteration.

    Args:
        loss_weight (float): λ. Defaults to 8.0 (KgCoOp's value).
        form (str): ``'squared_l2'`` (KgCoOp) or ``'cosine'``. Defaults to
            ``'squared_l2'``.
    """

    def __init__(self, loss_weight: float = 8.0,
                 form: str = 'squared_l2') -> None:
        super().__init__()
        if form not in _FORMS:
            raise ValueError(f'form must be one of {_FORMS}, got {form!r}')
        self.loss_weight = loss_weight
        self.form = form

    def loss(self, logits: Tensor, labels: Tensor,
             model) -> Dict[str, Tensor]:
        """``loss_text_anchor`` over the current (training) classes."""
        deviation = text_deviation(model.tuned_text_features(),
                                   model.zero_shot_features(), self.form)
        return {'loss_text_anchor': self.loss_weight * deviation}
