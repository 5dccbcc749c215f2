"""DualCoOp: positive and negative prompts scored on image regions.

Sun, Hu and Saenko, "DualCoOp: Fast Adaptation to Multi-Label Recognition
with Limited Annotations", NeurIPS 2022 (official code
``sunxm2357/DualCoOp``, ResNet only).
"""
from typing import Optional, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from mmccr.registry import PROMPT_LEARNERS

from .base import Features, LearnerOutput, PromptTokens
from .context import (
    ContextPromptLearner,
    encode_context_sets,
    encode_prompts,
    init_context,
)
from .dense import region_weights, unit_regions


@PROMPT_LEARNERS.register_module()
class DualCoOp(ContextPromptLearner):
    """Dual context optimisation with class-specific region aggregation.

    Each class has a positive and a negative prompt (``[SOT | ctx± | name .
    EOT]``, both encoded in one text-encoder pass). Every dense token r of
    an image (ViT patch tokens, or the attention-pool value projections of
    a ResNet; the global feature is prepended as in the official code's
    mean token) is compared with both: ``cos±_rc``. The spatial weights
    come from the positive prompt, ``w_rc = softmax_r(τ_s · cos+_rc)``, and
    ``z±_c = scale · Σ_r w_rc cos±_rc``. The logit is ``z+_c − z−_c``, so
    ``sigmoid(logit)`` equals the official two-way softmax over
    (negative, positive). The official constants are τ_s = 20 and an
    effective scale of 100 (5 × 20).

    Args:
        backbone: the frozen :class:`CLIPBackbone`.
        n_ctx (int): context length of both prompts. Defaults to 16.
        ctx_init_pos (str, optional): phrase starting the positive
            context; random otherwise.
        ctx_init_neg (str, optional): phrase starting the negative
            context; random otherwise.
        class_specific (bool): one context pair per class (needs
            ``num_classes``). Defaults to False.
        num_classes (int, optional): number of classes for CSC.
        spatial_temperature (float): τ_s. Defaults to 20.
        include_global (bool): score the global feature as one more
            region. Defaults to True.
        init_std (float): std of the random initialisation.
        logit_scale (float, optional): cosine multiplier; None (default)
            takes the backbone's (100 for OpenAI weights, the official
            effective scale).
    """

    needs_dense_features = True

    def __init__(self,
                 backbone,
                 n_ctx: int = 16,
                 ctx_init_pos: Optional[str] = None,
                 ctx_init_neg: Optional[str] = None,
                 class_specific: bool = False,
                 num_classes: Optional[int] = None,
                 spatial_temperature: float = 20.,
                 include_global: bool = True,
                 init_std: float = 0.02,
                 logit_scale: Optional[float] = None) -> None:
        # A bias would cancel in z+ − z−; none is taken.
        super().__init__(class_specific, num_classes, logit_scale,
                         logit_bias=0.)
        n_pos, pos = init_context(backbone, n_ctx, ctx_init_pos,
                                  self.num_classes, init_std)
        n_neg, neg = init_context(backbone, n_ctx, ctx_init_neg,
                                  self.num_classes, init_std)
        if n_pos != n_neg:
            raise ValueError(
                f'ctx_init_pos and ctx_init_neg must have the same number of '
                f'tokens (got {n_pos} and {n_neg}): both prompts share one '
                'text-encoder pass.')
        self.n_ctx = n_pos
        self.ctx_pos = nn.Parameter(pos)
        self.ctx_neg = nn.Parameter(neg)
        self.spatial_temperature = float(spatial_temperature)
        self.include_global = include_global
        self.tokens: Optional[PromptTokens] = None

    def set_classes(self,
                    classnames: Sequence[str],
                    backbone,
                    base_classnames: Optional[Sequence[str]] = None) -> None:
        """Tokens of the names, twice: positive prompts, then negative."""
        super().set_classes(classnames, backbone, base_classnames)
        self.tokens = PromptTokens(backbone, list(classnames) * 2,
                                   self.n_ctx).to(self.ctx_pos.device)

    def prompt_features(self, backbone) -> tuple:
        """Unit-norm positive and negative class features, ``(C, D)`` each."""
        if self.tokens is None:
            raise RuntimeError('DualCoOp.set_classes() was not called')
        pos, neg = encode_context_sets(backbone, self.tokens,
                                       [self.ctx_pos, self.ctx_neg])
        return F.normalize(pos.float(), dim=-1), F.normalize(
            neg.float(), dim=-1)

    def class_features(self, backbone, features: Features) -> Tensor:
        """The positive prompts' class features ``(C, D)``."""
        return self.prompt_features(backbone)[0]

    def forward(self, backbone, features: Features) -> LearnerOutput:
        """Logits ``z+ − z−`` ``(B, C)`` from region-aggregated scores."""
        pos, neg = self.once_per_evaluation(
            backbone, lambda: self.prompt_features(backbone))  # (C, D) each
        regions, mask = unit_regions(features, self.include_global,
                                     'DualCoOp')  # (B, R, D), (B, R)
        cos_pos = regions @ pos.t()  # (B, R, C)
        cos_neg = regions @ neg.t()  # (B, R, C)
        weights = region_weights(cos_pos, mask,
                                 self.spatial_temperature)  # (B, R, C)
        scale = backbone.logit_scale if self.logit_scale is None \
            else self.logit_scale
        z_pos = scale * (weights * cos_pos).sum(1)  # (B, C)
        z_neg = scale * (weights * cos_neg).sum(1)  # (B, C)
        return LearnerOutput(
            z_pos - z_neg, pos,
            extras=dict(negative_text_features=neg, logits_pos=z_pos,
                        logits_neg=z_neg))

    def tuned_features(self,
                       backbone,
                       names: Sequence[str],
                       features: Optional[Features] = None) -> Tensor:
        """Positive-prompt features ``(N, D)`` of any names."""
        if not self.can_encode_names:
            return super().tuned_features(backbone, names, features)
        tokens = PromptTokens(backbone, names,
                              self.n_ctx).to(self.ctx_pos.device)
        return encode_prompts(backbone, tokens, self.ctx_pos)
