"""T2I-PAL: prompt tuning and adapter learning on generated images.

Feng et al., "Text-to-Image Generation as Prompt-and-Adapter Learning for
multi-label recognition" (TPAMI 2025, arXiv 2506.10575). No code is
public; this is mmccr's reading of the published description
(``shared/reference/methods.md`` §9). Every assumption is listed, with
its source, in ``docs/methods/t2i_pal.md``.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmccr.registry import PROMPT_LEARNERS

from .adapters import ResidualAdapter
from .base import (
    BasePromptLearner,
    Features,
    LearnerOutput,
    training_slots,
)
from .dense import region_weights, unit_regions
from .tai_dpt import TaIDPT


@PROMPT_LEARNERS.register_module()
class T2IPAL(BasePromptLearner):
    """Double-grained prompts + residual visual adapter + class-wise
    heatmap aggregation with learnable prototypes.

    With ``g_c, l_c`` the global and local prompt features (TaI-DPT's two
    prompt sets), ``v`` the global image feature and ``v_r`` its dense
    tokens (all unit-norm), s the logit scale and τ the spatial
    temperature:

    * adapter: ``v' = (1 − α) · v + α · MLP(v)`` (α = 0: no adapter);
    * global logit ``z_g = s · cos(v', g_c)``;
    * class-wise heatmap ``h_rc = softmax_r(τ · cos(v_r, l_c))`` and the
      class's pooled visual feature ``u_c = Σ_r h_rc v_r``;
    * learnable prototype ``p_c = l_c + δ_c`` (δ zero-initialised, one per
      training class; a new class has δ = 0);
    * local logit ``z_l = s · cos(u_c, p_c)``;
    * score ``0.5 · z_g + 0.5 · z_l``; ``loss_branches`` gives the
      classifier's base loss both branches, as for TaI-DPT;
    * when the batch pairs each generated image with its caption, the
      caption is also scored as an image (TaI-DPT's text-as-image: its
      end-of-text feature without the visual adapter, its tokens through the
      heatmaps and prototypes), and its two branches join the loss with
      weight ``caption_weight``.

    Args:
        backbone: the frozen :class:`CLIPBackbone`.
        n_ctx (int): context length of each prompt set. Defaults to 16.
        alpha (float): the adapter's fusion weight α. Defaults to 0.2.
        adapter_dropout (float): the adapter's dropout. Defaults to 0.
        num_classes (int): training classes the prototypes can hold.
            Defaults to 80.
        text_temperature (float): τ on caption tokens. Defaults to 50.
        image_temperature (float): τ on image tokens. Defaults to 40.
        merge_rate (float): weight of the global branch. Defaults to 0.5.
        caption_weight (float): weight of the caption branches' losses
            when a batch pairs the generated images with their captions
            (``PackImageCaption``); 0 trains on the images only. Defaults
            to 1.
        logit_scale (float): s. Defaults to 4.
    """

    needs_dense_features = True

    def __init__(self,
                 backbone,
                 n_ctx: int = 16,
                 alpha: float = 0.2,
                 adapter_dropout: float = 0.,
                 num_classes: int = 80,
                 text_temperature: float = 50.,
                 image_temperature: float = 40.,
                 merge_rate: float = 0.5,
                 caption_weight: float = 1.,
                 logit_scale: Optional[float] = 4.) -> None:
        super().__init__(logit_scale=logit_scale, logit_bias=0.)
        self.text_prompts = TaIDPT(
            backbone, n_ctx=n_ctx, text_temperature=text_temperature,
            image_temperature=image_temperature, merge_rate=merge_rate)
        # ResidualAdapter keeps a share of its input: 1 − α here.
        self.visual_adapter = ResidualAdapter(backbone.embed_dim, 1. - alpha,
                                              adapter_dropout)
        self.prototypes = nn.Parameter(
            torch.zeros(num_classes, backbone.embed_dim))
        self.caption_weight = float(caption_weight)
        self.slots: List[int] = []

    @property
    def alpha(self) -> float:
        """The adapter's fusion weight α."""
        return 1. - self.visual_adapter.alpha

    def set_classes(self,
                    classnames: Sequence[str],
                    backbone,
                    base_classnames: Optional[Sequence[str]] = None) -> None:
        """Prompt tokens and prototype slots of the classes."""
        super().set_classes(classnames, backbone, base_classnames)
        self.slots = training_slots(classnames, self.base_classnames,
                                    self.prototypes.shape[0],
                                    type(self).__name__)
        self.text_prompts.set_classes(classnames, backbone,
                                      self.base_classnames)

    def class_prototypes(self, local: Tensor) -> Tensor:
        """Unit-norm prototypes ``(C, D)``: ``l_c + δ_c`` (δ = 0 without a
        slot)."""
        slots = torch.tensor(self.slots, device=local.device)
        delta = torch.cat([self.prototypes,
                           self.prototypes.new_zeros(1, local.shape[1])])
        return F.normalize(local + delta[slots], dim=-1)  # -1 → zero row

    def class_features(self, backbone, features: Features) -> Tensor:
        """The global prompts' class features ``(C, D)``."""
        return self.text_prompts.prompt_features(backbone)[0]

    def branch_logits(self, features: Features, glob: Tensor,
                      local: Tensor, adapt: bool) -> Tuple[Tensor, Tensor,
                                                           Tensor]:
        """Global and local logits ``(B, C)`` and the heatmaps.

        Args:
            features (Features): images (or captions) with dense tokens.
            glob (Tensor): unit global prompt features ``(C, D)``.
            local (Tensor): unit local prompt features ``(C, D)``.
            adapt (bool): pass the global feature through the visual
                adapter (images).
        """
        v = F.normalize(features.pooled.float(), dim=-1)  # (B, D)
        if adapt:
            v = F.normalize(self.visual_adapter(v), dim=-1)
        regions, mask = unit_regions(features, False, type(self).__name__)
        heat = region_weights(
            regions @ local.t(), mask,
            self.text_prompts.spatial_temperature(features))  # (B, R, C)
        pooled = F.normalize(torch.einsum('brc,brd->bcd', heat, regions),
                             dim=-1)  # (B, C, D)
        protos = self.class_prototypes(local)  # (C, D)
        scale = self.logit_scale
        return (scale * v @ glob.t(), scale * (pooled * protos).sum(-1),
                heat)

    def forward(self, backbone, features: Features) -> LearnerOutput:
        """Merged logits ``(B, C)`` of the images; branches in ``extras``
        (with the paired captions' branches when a batch has them)."""
        glob, local = self.text_prompts.prompt_features(backbone)
        z_global, z_local, heat = self.branch_logits(
            features, glob, local, adapt=features.modality == 'image')
        extras = dict(logits_global=z_global, logits_local=z_local,
                      heatmaps=heat)
        if features.captions is not None and self.caption_weight > 0:
            c_global, c_local, _ = self.branch_logits(
                features.captions, glob, local, adapt=False)
            extras.update(logits_caption_global=c_global,
                          logits_caption_local=c_local)
        return LearnerOutput(
            self.text_prompts.merge(z_global, z_local), glob, extras=extras)

    def loss_branches(
            self, output: LearnerOutput) -> Dict[str, Tuple[Tensor, float]]:
        """Both branches of the images, as TaI-DPT, and of the paired
        captions (weighted by ``caption_weight``) when present."""
        ex = output.extras
        branches = dict(cls_global=(ex['logits_global'], 1.),
                        cls_local=(ex['logits_local'], 1.))
        if 'logits_caption_global' in ex:
            branches.update(
                caption_global=(ex['logits_caption_global'],
                                self.caption_weight),
                caption_local=(ex['logits_caption_local'],
                               self.caption_weight))
        return branches

    def tuned_features(self,
                       backbone,
                       names: Sequence[str],
                       features: Optional[Features] = None) -> Tensor:
        """Global-prompt features ``(N, D)`` of any names."""
        return self.text_prompts.tuned_features(backbone, names)
