"""TaI-DPT: texts as images, double-grained prompt tuning.

Guo et al., "Texts as Images in Prompt Tuning for Multi-Label Image
Recognition", CVPR 2023 (official code ``guozix/TaI-DPT``, ResNet only).
Prompts are trained on captions encoded by the frozen text tower as if
they were images, and tested on images.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch.nn.functional as F
from torch import Tensor, nn

from mmccr.registry import PROMPT_LEARNERS

from .base import BasePromptLearner, Features, LearnerOutput, PromptTokens
from .context import encode_context_sets, encode_prompts, init_context
from .dense import aggregate_regions, unit_regions


@PROMPT_LEARNERS.register_module()
class TaIDPT(BasePromptLearner):
    """Double-grained prompts: a global and a local prompt set.

    Both sets are unified contexts ``[SOT | ctx | name . EOT]`` (16 random
    vectors each by default). For a batch of features (a caption's
    end-of-text and token features in training, an image's global feature
    and dense tokens at test):

    * global logit ``z_g = s · cos(v, g_c)``;
    * local logit ``z_l = s · Σ_r softmax_r(τ · cos(v_r, l_c)) ·
      cos(v_r, l_c)`` over the real tokens (caption padding masked);
    * score ``z = r · z_g + (1 − r) · z_l`` with ``r = merge_rate`` (0.5),
      the official "merged" score, whose sigmoid is the confidence.

    The official constants are ``s = 4`` and τ = 50 on captions, 40 on COCO
    and VOC images (4 on NUS-WIDE). ``loss_branches`` gives the two branches
    to the classifier's loss, as the official ``double_ranking`` loss
    ``rank(z_g) + rank(z_l)`` does (with BCE or ASL likewise per branch).

    Args:
        backbone: the frozen :class:`CLIPBackbone`.
        n_ctx (int): context length of each set. Defaults to 16.
        init_std (float): std of the random initialisation. Defaults to
            0.02.
        text_temperature (float): τ on caption tokens. Defaults to 50.
        image_temperature (float): τ on image tokens. Defaults to 40.
        merge_rate (float): ``r``. Defaults to 0.5.
        branch_loss (bool): apply the base loss to each branch (official);
            False applies it to the merged score. Defaults to True.
        logit_scale (float): ``s``. Defaults to 4.
        logit_bias (float): added to both branches. Defaults to 0 (the
            method has no bias; a SigLIP backbone's bias belongs to its own
            scale).
    """

    needs_dense_features = True

    def __init__(self,
                 backbone,
                 n_ctx: int = 16,
                 init_std: float = 0.02,
                 text_temperature: float = 50.,
                 image_temperature: float = 40.,
                 merge_rate: float = 0.5,
                 branch_loss: bool = True,
                 logit_scale: Optional[float] = 4.,
                 logit_bias: Optional[float] = 0.) -> None:
        super().__init__(logit_scale=logit_scale, logit_bias=logit_bias)
        if not 0. <= merge_rate <= 1.:
            raise ValueError(f'merge_rate must be in [0, 1], got '
                             f'{merge_rate}')
        self.n_ctx, init = init_context(backbone, n_ctx, None, None,
                                        init_std)
        self.ctx_global = nn.Parameter(init)
        self.ctx_local = nn.Parameter(
            init_context(backbone, n_ctx, None, None, init_std)[1])
        self.temperature = dict(text=float(text_temperature),
                                image=float(image_temperature))
        self.merge_rate = float(merge_rate)
        self.branch_loss = branch_loss
        self.tokens: Optional[PromptTokens] = None

    def set_classes(self,
                    classnames: Sequence[str],
                    backbone,
                    base_classnames: Optional[Sequence[str]] = None) -> None:
        """Tokens of the names, twice: global prompts, then local."""
        super().set_classes(classnames, backbone, base_classnames)
        self.tokens = PromptTokens(backbone, list(classnames) * 2,
                                   self.n_ctx).to(self.ctx_global.device)

    def prompt_features(self, backbone) -> Tuple[Tensor, Tensor]:
        """Unit-norm global and local class features, ``(C, D)`` each."""
        if self.tokens is None:
            raise RuntimeError(
                f'{type(self).__name__}.set_classes() was not called')
        glob, local = encode_context_sets(backbone, self.tokens,
                                          [self.ctx_global, self.ctx_local])
        return F.normalize(glob.float(), dim=-1), F.normalize(
            local.float(), dim=-1)

    def class_features(self, backbone, features: Features) -> Tensor:
        """The global prompts' class features ``(C, D)``."""
        return self.prompt_features(backbone)[0]

    def spatial_temperature(self, features: Features) -> float:
        """τ for the modality of ``features``."""
        if features.modality not in self.temperature:
            raise ValueError(f'unknown feature modality '
                             f'{features.modality!r}; expected one of '
                             f'{sorted(self.temperature)}.')
        return self.temperature[features.modality]

    def branch_logits(self, backbone, features: Features, glob: Tensor,
                      local: Tensor) -> Tuple[Tensor, Tensor]:
        """Global and local logits ``(B, C)`` against class features.

        Args:
            backbone: the frozen :class:`CLIPBackbone`.
            features (Features): the batch (with dense tokens).
            glob (Tensor): unit-norm global class features ``(C, D)``.
            local (Tensor): unit-norm local class features ``(C, D)``.
        """
        image = F.normalize(features.pooled.float(), dim=-1)  # (B, D)
        regions, mask = unit_regions(features, False, type(self).__name__)
        pooled = aggregate_regions(regions, mask, local,
                                   self.spatial_temperature(features))
        scale, bias = self.scale_and_bias(backbone)
        z_global = self.scores(backbone, image, glob)  # (B, C)
        return z_global, scale * pooled + bias

    def merge(self, z_global: Tensor, z_local: Tensor) -> Tensor:
        """The double-grained score ``r · z_g + (1 − r) · z_l``."""
        return self.merge_rate * z_global + (1 - self.merge_rate) * z_local

    def forward(self, backbone, features: Features) -> LearnerOutput:
        """Merged logits ``(B, C)``; the branches are in ``extras``."""
        glob, local = self.prompt_features(backbone)
        z_global, z_local = self.branch_logits(backbone, features, glob,
                                               local)
        return LearnerOutput(
            self.merge(z_global, z_local), glob,
            extras=dict(logits_global=z_global, logits_local=z_local,
                        local_text_features=local))

    def loss_branches(
            self, output: LearnerOutput) -> Dict[str, Tuple[Tensor, float]]:
        """Both branches (official), or the merged score."""
        if not self.branch_loss:
            return super().loss_branches(output)
        return dict(cls_global=(output.extras['logits_global'], 1.),
                    cls_local=(output.extras['logits_local'], 1.))

    def tuned_features(self,
                       backbone,
                       names: Sequence[str],
                       features: Optional[Features] = None) -> Tensor:
        """Global-prompt features ``(N, D)`` of any names."""
        tokens = PromptTokens(backbone, names,
                              self.n_ctx).to(self.ctx_global.device)
        return encode_prompts(backbone, tokens, self.ctx_global)
