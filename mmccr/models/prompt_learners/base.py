"""Machinery shared by every prompt learner.

A prompt learner owns its prompts and its logits: given the frozen
backbone and the image features of a batch, it returns one logit per
(image, class). The backbone owns the frozen encoders; the learner owns
the trainable parameters.
"""
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass
class ImageFeatures:
    """Frozen image features of a batch.

    Attributes:
        pooled (Tensor): global features ``(B, D)``.
        tokens (Tensor, optional): projected patch tokens ``(B, L, D)``,
            present only for learners with ``needs_dense_features``.
    """
    pooled: Tensor
    tokens: Optional[Tensor] = None


class PromptTokens(nn.Module):
    """Token ids and frozen embeddings of ``"X X ... X {name}."`` prompts.

    The template is embedded once; the learned context later replaces the
    ``n_ctx`` placeholder positions. Kept as non-persistent buffers: they
    are rebuilt from the class names, never saved.

    Args:
        backbone: the frozen :class:`CLIPBackbone`.
        classnames (Sequence[str]): names put into the prompts.
        n_ctx (int): number of context positions after the start token.
    """

    def __init__(self, backbone, classnames: Sequence[str],
                 n_ctx: int) -> None:
        super().__init__()
        placeholder = ' '.join(['X'] * n_ctx)
        texts = [f'{placeholder} {name}.'.strip() for name in classnames]
        token_ids = backbone.tokenize(texts)  # (C, L)
        with torch.no_grad():
            embeds = backbone.token_embedding(token_ids)  # (C, L, W)
        eot = token_ids.argmax(dim=-1)
        self.n_ctx = n_ctx
        # Name length: positions between the context and the final '.'.
        self.name_lens: List[int] = (eot - n_ctx - 2).tolist()
        self.register_buffer('token_ids', token_ids, persistent=False)
        self.register_buffer('prefix', embeds[:, :1], persistent=False)
        self.register_buffer(
            'suffix', embeds[:, 1 + n_ctx:], persistent=False)

    def __len__(self) -> int:
        return self.token_ids.shape[0]

    def assemble(self, ctx: Tensor, position: str = 'end') -> Tensor:
        """Build prompt embeddings from context vectors.

        Args:
            ctx (Tensor): context ``(n_ctx, W)`` shared by all classes, or
                ``(C, n_ctx, W)`` with one context per class.
            position (str): where the class name goes: ``'end'`` (after the
                context), ``'front'`` or ``'middle'``.

        Returns:
            Tensor: prompt embeddings ``(C, L, W)``.
        """
        num_cls = len(self)
        if ctx.dim() == 2:
            ctx = ctx.unsqueeze(0).expand(num_cls, -1, -1)
        ctx = ctx.to(self.prefix.dtype)
        if position == 'end':
            return torch.cat([self.prefix, ctx, self.suffix], dim=1)
        half = self.n_ctx // 2 if position == 'middle' else 0
        prompts = []
        for i, name_len in enumerate(self.name_lens):
            name = self.suffix[i:i + 1, :name_len]
            rest = self.suffix[i:i + 1, name_len:]
            prompts.append(
                torch.cat([
                    self.prefix[i:i + 1], ctx[i:i + 1, :half], name,
                    ctx[i:i + 1, half:], rest
                ], dim=1))
        return torch.cat(prompts, dim=0)


class BasePromptLearner(nn.Module):
    """Base class of prompt learners.

    Subclasses implement :meth:`set_classes` (build whatever depends on the
    class names) and :meth:`text_features`; the default :meth:`forward`
    turns them into cosine logits.

    Args:
        logit_scale (float, optional): multiplier of the cosine
            similarities; CLIP's 100 by default; None takes the backbone's
            own learned scale (``CLIPBackbone.logit_scale``).
    """

    #: Whether :meth:`forward` needs projected patch tokens.
    needs_dense_features: bool = False

    def __init__(self, logit_scale: Optional[float] = 100.) -> None:
        super().__init__()
        self.logit_scale = None if logit_scale is None else float(
            logit_scale)
        self.classnames: List[str] = []

    def set_classes(self, classnames: Sequence[str], backbone) -> None:
        """Make the learner predict ``classnames`` (in this order)."""
        raise NotImplementedError

    def text_features(self, backbone,
                      image_features: ImageFeatures) -> Tensor:
        """Tuned class text features, ``(C, D)`` or per image ``(B, C, D)``."""
        raise NotImplementedError

    def encode_names(self, backbone, names: Sequence[str]) -> Tensor:
        """Text features of arbitrary ``names`` through the learned prompts.

        Used by calibrators that compare tuned and zero-shot text features
        (DAC, DOR, the text anchor). Image-conditioned or class-specific
        prompts have no image-free prompt for a new name and raise.

        Returns:
            Tensor: text features ``(N, D)`` (not normalised),
            differentiable with respect to the learner's parameters.
        """
        raise NotImplementedError(
            f'{type(self).__name__} cannot encode arbitrary names with its '
            'prompts, so it cannot be combined with calibrators that need '
            'tuned text features (DAC, DOR, TextAnchor).')

    def forward(self, backbone, image_features: ImageFeatures) -> Tensor:
        """Cosine logits of every image against every class.

        Returns:
            Tensor: logits ``(B, C)``.
        """
        text = F.normalize(self.text_features(backbone, image_features),
                           dim=-1)
        image = F.normalize(image_features.pooled, dim=-1).to(text.dtype)
        scale = backbone.logit_scale if self.logit_scale is None \
            else self.logit_scale
        if text.dim() == 3:  # image-conditioned prompts
            return scale * torch.einsum('bd,bcd->bc', image, text)
        return scale * image @ text.t()
