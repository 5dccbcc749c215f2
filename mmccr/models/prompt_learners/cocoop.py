"""CoCoOp: context conditioned on the image by a small meta-network.

Zhou et al., "Conditional Prompt Learning for Vision-Language Models",
CVPR 2022 (official code ``KaiyangZhou/CoOp``, ``trainers/cocoop.py``).
"""
from typing import Optional, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from mmccr.registry import PROMPT_LEARNERS

from .base import Features
from .context import encode_prompts
from .coop import CoOp


@PROMPT_LEARNERS.register_module()
class CoCoOp(CoOp):
    """Conditional Context Optimization for multi-label recognition.

    Every context vector of image x is ``ctx_i + π(x)``, with the meta-net
    ``π = Linear(D, D/16) → ReLU → Linear(D/16, W)`` applied to the
    L2-normalised image feature, so each image has its own B × C prompts.
    mmccr encodes them in one batched pass (in chunks of ``chunk_size``
    prompts, each truncated to the last end-of-text token) instead of the
    official per-image loop over 77 tokens; the outputs are the same.

    Calibrators that need image-free tuned features (DAC, DOR without an
    image, the text anchor) get the prompts of the learned context alone,
    ``π = 0``: the part shared by every image. (DAC's official code takes
    the features conditioned on one arbitrary image, the last of a batch;
    see ``docs/model_zoo.md``.) With image features given,
    :meth:`tuned_features` conditions on them.

    Args:
        backbone: the frozen :class:`CLIPBackbone`.
        n_ctx (int): context length when ``ctx_init`` is None. Defaults to 4.
        ctx_init (str, optional): Defaults to ``'a photo of a'`` (the
            official ViT-B/16 config).
        chunk_size (int): prompts per text-encoder pass. Defaults to 512.
        **kwargs: other :class:`CoOp` arguments (no class-specific context:
            the official CoCoOp has none).
    """

    image_conditioned = True

    def __init__(self,
                 backbone,
                 n_ctx: int = 4,
                 ctx_init: Optional[str] = 'a photo of a',
                 chunk_size: int = 512,
                 **kwargs) -> None:
        if kwargs.get('class_specific'):
            raise ValueError('CoCoOp has a unified context only; remove '
                             'class_specific from model.learner.')
        super().__init__(backbone, n_ctx=n_ctx, ctx_init=ctx_init, **kwargs)
        if chunk_size < 1:
            raise ValueError(f'chunk_size must be >= 1, got {chunk_size}')
        self.chunk_size = chunk_size
        vis_dim = backbone.embed_dim
        width = self.ctx.shape[-1]
        self.meta_net = nn.Sequential(
            nn.Linear(vis_dim, vis_dim // 16), nn.ReLU(),
            nn.Linear(vis_dim // 16, width))

    def conditioned_context(self, features: Features,
                            num_names: int) -> Tensor:
        """Per-image context ``(B, N, n_ctx, W)`` for ``num_names`` names."""
        image = F.normalize(features.pooled.float(), dim=-1)  # (B, D)
        shift = self.meta_net(image)  # (B, W)
        ctx = self.ctx.unsqueeze(0) + shift.unsqueeze(1)  # (B, n_ctx, W)
        return ctx.unsqueeze(1).expand(-1, num_names, -1, -1)

    def class_features(self, backbone, features: Features) -> Tensor:
        """Image-conditioned class text features ``(B, C, D)``."""
        if self.tokens is None:
            raise RuntimeError('CoCoOp.set_classes() was not called')
        ctx = self.conditioned_context(features, len(self.tokens))
        return encode_prompts(backbone, self.tokens, ctx,
                              self.class_token_position, self.chunk_size)

    def tuned_features(self,
                       backbone,
                       names: Sequence[str],
                       features: Optional[Features] = None) -> Tensor:
        """Tuned features of any names.

        Returns:
            Tensor: ``(N, D)`` from the learned context alone when
            ``features`` is None, else ``(B, N, D)`` conditioned on them.
        """
        if features is None:
            return super().tuned_features(backbone, names)
        tokens = self.make_tokens(backbone, names)
        ctx = self.conditioned_context(features, len(tokens))
        return encode_prompts(backbone, tokens, ctx,
                              self.class_token_position, self.chunk_size)
