"""Learned context vectors and their text encoding (shared by learners).

Every CoOp-family learner keeps ``n_ctx`` context vectors in front of the
class name, initialised from a phrase or at random, and runs the frozen
text transformer on the assembled prompts. This module holds those two
steps once.
"""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from .base import BasePromptLearner, PromptTokens

_POSITIONS = ('end', 'middle', 'front')


class ContextPromptLearner(BasePromptLearner):
    """Base of learners with a learned context, unified or class-specific.

    A class-specific context (CSC) has one context per training class, so
    it needs ``num_classes``, predicts exactly that many classes, and has no
    prompt for any other name (``can_encode_names`` is False).

    Args:
        class_specific (bool): one context per class.
        num_classes (int, optional): number of classes for CSC.
        logit_scale (float, optional): see :class:`BasePromptLearner`.
        logit_bias (float, optional): see :class:`BasePromptLearner`.
    """

    def __init__(self,
                 class_specific: bool = False,
                 num_classes: Optional[int] = None,
                 logit_scale: Optional[float] = None,
                 logit_bias: Optional[float] = None) -> None:
        super().__init__(logit_scale=logit_scale, logit_bias=logit_bias)
        if class_specific and not num_classes:
            raise ValueError(
                f'{type(self).__name__}: class_specific=True needs '
                'num_classes (the number of training classes): set '
                'model.learner.num_classes in the config.')
        self.num_classes = num_classes if class_specific else None

    @property
    def can_encode_names(self) -> bool:
        """Only a unified context has a prompt for names it never saw."""
        return self.num_classes is None

    def set_classes(self,
                    classnames: Sequence[str],
                    backbone,
                    base_classnames: Optional[Sequence[str]] = None) -> None:
        """Check the class count of a class-specific context."""
        if self.num_classes is not None and len(
                classnames) != self.num_classes:
            raise ValueError(
                f'class-specific {type(self).__name__} was built for '
                f'{self.num_classes} classes but asked to predict '
                f'{len(classnames)}; a class-specific context cannot predict '
                'classes it was not trained on (use class_specific=False for '
                'base-to-new).')
        super().set_classes(classnames, backbone, base_classnames)


def check_position(position: str) -> str:
    """Validate a class-token position: end, middle or front."""
    if position not in _POSITIONS:
        raise ValueError(f'class_token_position must be one of '
                         f'{_POSITIONS}, got {position!r}')
    return position


def init_context(backbone,
                 n_ctx: int,
                 ctx_init: Optional[str] = None,
                 num_classes: Optional[int] = None,
                 init_std: float = 0.02) -> Tuple[int, Tensor]:
    """Initial context vectors.

    Args:
        backbone: the frozen :class:`CLIPBackbone` (token embeddings).
        n_ctx (int): number of vectors; ignored with ``ctx_init``, which
            sets it to the phrase's token count.
        ctx_init (str, optional): phrase whose word embeddings start the
            context (e.g. ``'a photo of a'``); random normal otherwise.
        num_classes (int, optional): one context per class (class-specific
            context, CSC) instead of one shared context.
        init_std (float): std of the random initialisation.

    Returns:
        tuple: ``n_ctx`` and the float32 context ``(n_ctx, W)`` or
        ``(num_classes, n_ctx, W)``.
    """
    width = backbone.token_embedding.embedding_dim
    if ctx_init:
        ids = backbone.tokenize(ctx_init.replace('_', ' '))
        n_ctx = int(ids.argmax(dim=-1)) - 1  # tokens between SOT and EOT
        with torch.no_grad():
            init = backbone.token_embedding(ids)[0, 1:1 + n_ctx].clone()
        if num_classes:
            init = init.unsqueeze(0).repeat(num_classes, 1, 1)
    else:
        shape = (num_classes, n_ctx, width) if num_classes else (n_ctx,
                                                                 width)
        init = torch.empty(shape).normal_(std=init_std)
    return n_ctx, init.float()


def encode_prompts(backbone,
                   tokens: PromptTokens,
                   ctx: Tensor,
                   position: str = 'end',
                   chunk_size: Optional[int] = None) -> Tensor:
    """Text features of the prompts ``[SOT | ctx | name . EOT]``.

    The text transformer runs only up to the batch's last end-of-text
    token (exact under the causal mask), and on at most ``chunk_size``
    prompts at a time when given (image-conditioned learners encode
    B × C prompts per batch).

    Args:
        backbone: the frozen :class:`CLIPBackbone`.
        tokens (PromptTokens): the frozen tokens of the C names.
        ctx (Tensor): context ``(n_ctx, W)``, ``(C, n_ctx, W)`` or
            ``(B, C, n_ctx, W)``.
        position (str): class-token position.
        chunk_size (int, optional): prompts per text-encoder pass.

    Returns:
        Tensor: unnormalised features ``(C, D)`` or ``(B, C, D)``.
    """
    prompts = tokens.assemble(ctx, position)  # (..., C, L, W)
    lead = prompts.shape[:-2]
    flat = prompts.reshape(-1, *prompts.shape[-2:])  # (N, L, W)
    ids = tokens.token_ids.expand(*lead, -1).reshape(flat.shape[0], -1)
    step = chunk_size or flat.shape[0]
    feats = torch.cat([
        backbone.encode_token_embeddings(flat[i:i + step], ids[i:i + step])
        for i in range(0, flat.shape[0], step)
    ])  # (N, D)
    return feats.reshape(*lead, -1)


def encode_context_sets(backbone, tokens: PromptTokens,
                        contexts: Sequence[Tensor]) -> List[Tensor]:
    """Features of several prompt sets over the same names, in one pass.

    Learners with more than one prompt per class (DualCoOp's positive and
    negative, TaI-DPT's global and local) build ``tokens`` for the names
    repeated once per set, and encode all prompts together.

    Args:
        backbone: the frozen :class:`CLIPBackbone`.
        tokens (PromptTokens): tokens of the C names repeated ``k`` times.
        contexts (Sequence[Tensor]): ``k`` contexts, each ``(n_ctx, W)`` or
            ``(C, n_ctx, W)``.

    Returns:
        list[Tensor]: ``k`` unnormalised feature sets ``(C, D)``.
    """
    num = len(tokens) // len(contexts)
    if num * len(contexts) != len(tokens):
        raise ValueError(f'{len(tokens)} prompts cannot be split into '
                         f'{len(contexts)} sets of the same names.')
    ctx = torch.cat([
        c.unsqueeze(0).expand(num, -1, -1) if c.dim() == 2 else c
        for c in contexts
    ])  # (k·C, n_ctx, W)
    return list(encode_prompts(backbone, tokens, ctx).split(num))
