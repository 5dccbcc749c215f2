"""KgCoOp: CoOp whose prompts are kept close to the hand-crafted ones.

Yao, Zhang and Xu, "Visual-Language Prompt Tuning with Knowledge-guided
Context Optimization", CVPR 2023 (official code ``htyao89/KgCoOp``).
"""
from typing import Dict, Optional

from torch import Tensor

from mmccr.losses.text_deviation import FORMS, text_deviation
from mmccr.registry import PROMPT_LEARNERS

from .base import LearnerOutput
from .coop import CoOp


@PROMPT_LEARNERS.register_module()
class KgCoOp(CoOp):
    """CoOp + the knowledge-guided regulariser, owned by the learner.

    ``loss_kg = λ · (1 − mean_c cos(t'_c, t_c))`` between the tuned class
    features of the forward and the frozen zero-shot ones (the backbone's
    templates), as in the official code with λ = 8; the paper's squared-L2
    form equals twice this (``form='squared_l2'``). The term is part of the
    method, so it stays whatever calibrators a config lists.

    Args:
        backbone: the frozen :class:`CLIPBackbone`.
        n_ctx (int): context length when ``ctx_init`` is None. Defaults to 4.
        ctx_init (str, optional): Defaults to ``'a photo of a'`` (the
            official code hard-codes this phrase).
        loss_weight (float): λ. Defaults to 8.0.
        form (str): ``'cosine'`` (official code) or ``'squared_l2'``
            (paper). Defaults to ``'cosine'``.
        **kwargs: other :class:`CoOp` arguments (unified context only).
    """

    def __init__(self,
                 backbone,
                 n_ctx: int = 4,
                 ctx_init: Optional[str] = 'a photo of a',
                 loss_weight: float = 8.0,
                 form: str = 'cosine',
                 **kwargs) -> None:
        super().__init__(backbone, n_ctx=n_ctx, ctx_init=ctx_init, **kwargs)
        if form not in FORMS:
            raise ValueError(
                f'KgCoOp form must be one of {FORMS}, got {form!r}')
        self.loss_weight = loss_weight
        self.form = form

    def loss(self, output: LearnerOutput, labels: Tensor,
             backbone) -> Dict[str, Tensor]:
        """``loss_kg`` over the classes of this forward."""
        zero_shot = backbone.zero_shot_features(self.classnames)
        return {
            'loss_kg': self.loss_weight * text_deviation(
                output.text_features, zero_shot, self.form)
        }
