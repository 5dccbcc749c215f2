"""TaI++: pseudo-visual prompts and dual-adapter co-learning.

"TaI++" (IJCAI 2024), official code ``Jinx630/Pseudo-Visual-Prompt``
(ResNet only; ``shared/reference/methods.md`` §8). Two stages, both trained
on captions used as images (as TaI-DPT):

1. ``stage='pretrain'``: per-class learnable images (pseudo-visual prompts,
   PVP), a global and a local set, encoded by the frozen image encoder,
   score the captions;
2. ``stage='colearn'``: TaI-DPT's text prompts, the PVP (loaded from stage
   1) and two residual adapters (text and image) are trained together,
   with a contrastive term aligning text prompts and PVP.
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
from .dense import aggregate_regions, unit_regions
from .tai_dpt import TaIDPT

_STAGES = ('pretrain', 'colearn')


class PseudoVisualPrompts(nn.Module):
    """Learnable images, one per training class and set.

    The pixels live in CLIP's normalised input space, initialised from a
    standard normal: the official per-channel N(CLIP mean, CLIP std²) in
    raw pixel space, after CLIP's normalisation. They are stored at
    ``prompt_size`` and resized (bilinear) to the encoder's input size.

    Args:
        num_sets (int): prompt sets (2: global and local).
        num_classes (int): training classes they can hold.
        prompt_size (int): side of the stored images.
        image_size (int): the encoder's input size.
    """

    def __init__(self, num_sets: int, num_classes: int, prompt_size: int,
                 image_size: int) -> None:
        super().__init__()
        self.pixels = nn.Parameter(
            torch.randn(num_sets, num_classes, 3, prompt_size, prompt_size))
        self.image_size = image_size

    def forward(self, backbone, count: int) -> Tensor:
        """Unnormalised features ``(num_sets, count, D)`` of the first
        ``count`` classes' prompts."""
        if count > self.pixels.shape[1]:
            raise ValueError(
                f'{count} training classes but pseudo-visual prompts for '
                f'{self.pixels.shape[1]}: set model.learner.num_classes to '
                f'at least {count}.')
        sets = self.pixels.shape[0]
        images = self.pixels[:, :count].flatten(0, 1)  # (S·n, 3, p, p)
        if images.shape[-1] != self.image_size:
            images = F.interpolate(images, size=self.image_size,
                                   mode='bilinear', align_corners=False)
        feats = backbone.encode_learnable_images(images)  # (S·n, D)
        return feats.float().reshape(sets, count, -1)


@PROMPT_LEARNERS.register_module()
class TaIPlusPlus(BasePromptLearner):
    """TaI++ (both stages; ``stage`` selects one).

    Branch logits, with ``q`` the global query (a caption's end-of-text
    feature in training, an image's global feature at test), ``v_r`` its
    dense tokens and s = 4:

    * PVP branch: ``s · cos(q, P_g,c)`` and ``s · Σ_r softmax_r(τ_p ·
      cos(v_r, P_l,c)) cos(v_r, P_l,c)``;
    * text branch (stage 2): the same with TaI-DPT's prompts ``g_c, l_c``
      and τ_t;
    * the score is the plain sum of the branches (official four-way sum).

    Stage 2 adapts features with two :class:`ResidualAdapter` s (α = 0.6):
    ``text_adapter`` on the text prompts and on caption queries,
    ``image_adapter`` on the PVP and on image queries; dense tokens are
    never adapted. Official temperatures: τ_t = 50 on captions and 40 on
    images, τ_p = 40 on captions and 50 on images (the official names are
    swapped between training and test). Caption features get Gaussian noise
    (std 0.04, on unit features, renormalised) while training.

    Base-loss weights per branch: stage 1 PVP global 1, local 0.1; stage 2
    text global 1, text local 0.01, PVP global 1, PVP local 1. Stage 2 adds
    ``loss_align``: ½ (CE(u · T Iᵀ) + CE(u · I Tᵀ)) summed over the
    training classes (targets: the diagonal), T and I the adapted global
    text prompts and PVP, u = 4.605 (CLIP's unexponentiated scale).

    PVP exist for training classes only; a class without one (a new class
    in base-to-new evaluation) uses the backbone's zero-shot text feature
    of its name as its visual prototype (a choice of mmccr).

    Args:
        backbone: the frozen :class:`CLIPBackbone`.
        stage (str): ``'pretrain'`` or ``'colearn'``. Defaults to
            ``'colearn'``.
        num_classes (int): training classes the PVP can hold. Defaults to
            80.
        prompt_size (int, optional): side of the stored PVP images;
            defaults to the encoder's input size (official: 224).
        n_ctx (int): text context length per set (stage 2). Defaults to 16.
        alpha (float): adapters' residual ratio. Defaults to 0.6.
        adapter_dropout (float): adapters' dropout. Defaults to 0.6.
        adapter_hidden (int, optional): adapters' hidden width; defaults
            to the feature width (official).
        noise_std (float): caption-feature noise in training. Defaults to
            0.04.
        text_temperatures (tuple): τ_t on (captions, images). Defaults to
            (50, 40).
        pvp_temperatures (tuple): τ_p on (captions, images). Defaults to
            (40, 50).
        align_scale (float): u. Defaults to 4.605.
        align_weight (float): weight of ``loss_align``. Defaults to 1.
        logit_scale (float): s. Defaults to 4.
    """

    needs_dense_features = True

    def __init__(self,
                 backbone,
                 stage: str = 'colearn',
                 num_classes: int = 80,
                 prompt_size: Optional[int] = None,
                 n_ctx: int = 16,
                 alpha: float = 0.6,
                 adapter_dropout: float = 0.6,
                 adapter_hidden: Optional[int] = None,
                 noise_std: float = 0.04,
                 text_temperatures: Sequence[float] = (50., 40.),
                 pvp_temperatures: Sequence[float] = (40., 50.),
                 align_scale: float = 4.605,
                 align_weight: float = 1.,
                 logit_scale: Optional[float] = 4.) -> None:
        super().__init__(logit_scale=logit_scale, logit_bias=0.)
        if stage not in _STAGES:
            raise ValueError(f'stage must be one of {_STAGES}, got '
                             f'{stage!r}')
        self.stage = stage
        self.pvp = PseudoVisualPrompts(2, num_classes, prompt_size or
                                       backbone.image_size,
                                       backbone.image_size)
        self.text_temperature = dict(zip(('text', 'image'),
                                          map(float, text_temperatures),
                                          strict=True))
        self.pvp_temperature = dict(zip(('text', 'image'),
                                        map(float, pvp_temperatures),
                                        strict=True))
        self.noise_std = float(noise_std)
        self.align_scale = float(align_scale)
        self.align_weight = float(align_weight)
        self.slots: List[int] = []
        if stage == 'colearn':
            self.text_prompts = TaIDPT(backbone, n_ctx=n_ctx)
            dim = backbone.embed_dim
            self.text_adapter = ResidualAdapter(dim, alpha, adapter_dropout,
                                                adapter_hidden)
            self.image_adapter = ResidualAdapter(dim, alpha, adapter_dropout,
                                                 adapter_hidden)

    @property
    def colearn(self) -> bool:
        """Whether this is stage 2 (text prompts and adapters)."""
        return self.stage == 'colearn'

    @property
    def can_encode_names(self) -> bool:
        """Stage 2's text prompts encode any name; stage 1 has none."""
        return self.colearn

    def set_classes(self,
                    classnames: Sequence[str],
                    backbone,
                    base_classnames: Optional[Sequence[str]] = None) -> None:
        """Map the classes to PVP slots (the training classes' order)."""
        super().set_classes(classnames, backbone, base_classnames)
        base = self.base_classnames
        self.slots = training_slots(classnames, base,
                                    self.pvp.pixels.shape[1],
                                    type(self).__name__)
        if self.colearn:
            self.text_prompts.set_classes(classnames, backbone, base)

    # ------------------------------------------------------------------ #
    def pvp_features(self, backbone) -> Tuple[Tensor, Tensor]:
        """Unit-norm global and local visual prototypes ``(C, D)`` each.

        Classes without a PVP use the zero-shot text feature of their name.
        With stage 2 they pass the image adapter.
        """
        slots = torch.tensor(self.slots)
        feats = self.pvp(backbone, len(self.base_classnames))  # (2, n, D)
        missing = [n for n, s in zip(self.classnames, self.slots,
                                     strict=True) if s < 0]
        if missing:
            prior = backbone.zero_shot_features(missing).float()  # (m, D)
            feats = torch.cat([feats, prior.expand(2, -1, -1)], dim=1)
            slots[slots < 0] = torch.arange(len(self.base_classnames),
                                            feats.shape[1])
        feats = feats[:, slots.to(feats.device)]  # (2, C, D)
        if self.colearn:
            feats = self.image_adapter(feats)
        feats = F.normalize(feats, dim=-1)
        return feats[0], feats[1]

    def text_features(self, backbone) -> Tuple[Tensor, Tensor]:
        """Adapted unit-norm global and local text prompts ``(C, D)``."""
        glob, local = self.text_prompts.prompt_features(backbone)
        feats = F.normalize(self.text_adapter(torch.stack([glob, local])),
                            dim=-1)
        return feats[0], feats[1]

    def noisy(self, features: Features) -> Features:
        """Caption features with training noise (unit, + N(0, σ²), unit)."""
        if not (self.training and features.modality == 'text'
                and self.noise_std > 0):
            return features

        def jitter(x: Tensor) -> Tensor:
            x = F.normalize(x.float(), dim=-1)
            return F.normalize(x + self.noise_std * torch.randn_like(x),
                               dim=-1)
        return Features(jitter(features.pooled), jitter(features.tokens),
                        features.token_mask, features.modality)

    def query(self, features: Features) -> Tensor:
        """The unit global query ``(B, D)``, adapted by its modality's
        adapter in stage 2."""
        q = F.normalize(features.pooled.float(), dim=-1)
        if self.colearn:
            adapter = self.text_adapter if features.modality == 'text' \
                else self.image_adapter
            q = F.normalize(adapter(q), dim=-1)
        return q

    def forward(self, backbone, features: Features) -> LearnerOutput:
        """Sum of the branch logits ``(B, C)``; branches in ``extras``."""
        features = self.noisy(features)
        q = self.query(features)  # (B, D)
        # Images score their global feature as one more region (official
        # test); a caption's end-of-text token is already among its tokens.
        regions, mask = unit_regions(features, features.modality == 'image',
                                     type(self).__name__)
        scale = self.logit_scale
        p_glob, p_local = self.pvp_features(backbone)
        extras = dict(
            logits_pvp_global=scale * q @ p_glob.t(),
            logits_pvp_local=scale * aggregate_regions(
                regions, mask, p_local,
                self.pvp_temperature[features.modality]),
            pvp_global_features=p_glob)
        text = p_glob
        if self.colearn:
            t_glob, t_local = self.text_features(backbone)
            extras.update(
                logits_text_global=scale * q @ t_glob.t(),
                logits_text_local=scale * aggregate_regions(
                    regions, mask, t_local,
                    self.text_temperature[features.modality]))
            text = t_glob
        logits = sum(v for k, v in extras.items() if k.startswith('logits'))
        return LearnerOutput(logits, text, extras=extras)

    def loss_branches(
            self, output: LearnerOutput) -> Dict[str, Tuple[Tensor, float]]:
        """The official weights of each branch's base loss."""
        ex = output.extras
        if not self.colearn:
            return dict(pvp_global=(ex['logits_pvp_global'], 1.),
                        pvp_local=(ex['logits_pvp_local'], 0.1))
        return dict(text_global=(ex['logits_text_global'], 1.),
                    text_local=(ex['logits_text_local'], 0.01),
                    pvp_global=(ex['logits_pvp_global'], 1.),
                    pvp_local=(ex['logits_pvp_local'], 1.))

    def loss(self, output: LearnerOutput, labels: Tensor,
             backbone) -> Dict[str, Tensor]:
        """Stage 2: the text-prompt / PVP alignment term."""
        if not self.colearn:
            return {}
        trained = [c for c, s in enumerate(self.slots) if s >= 0]
        text = output.text_features[trained]  # (n, D)
        pvp = output.extras['pvp_global_features'][trained]  # (n, D)
        sims = self.align_scale * text @ pvp.t()  # (n, n)
        target = torch.arange(len(trained), device=sims.device)
        align = 0.5 * (F.cross_entropy(sims, target, reduction='sum') +
                       F.cross_entropy(sims.t(), target, reduction='sum'))
        return dict(loss_align=self.align_weight * align)

    def tuned_features(self,
                       backbone,
                       names: Sequence[str],
                       features: Optional[Features] = None) -> Tensor:
        """Stage 2: adapted global text-prompt features ``(N, D)``
        (adapter without dropout: calibrators read them in any mode)."""
        if not self.colearn:
            return super().tuned_features(backbone, names, features)
        return self.text_adapter(
            self.text_prompts.tuned_features(backbone, names), dropout=False)
