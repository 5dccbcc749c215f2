"""Dense (region) scoring shared by learners that look at tokens.

DualCoOp, TaI-DPT, TaI++ and T2I-PAL compare every dense token ``r`` of an
image (or of a caption used as an image) with a class feature and pool the
cosines with a softmax over the tokens:
``s_c = Σ_r softmax_r(τ · cos_rc) · cos_rc``. Padding tokens of captions
are left out of the softmax.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .base import Features


def unit_regions(features: Features, include_global: bool = False,
                 owner: str = 'this learner') -> Tuple[Tensor, Tensor]:
    """Unit-norm regions ``(B, R, D)`` and their mask ``(B, R)``.

    Args:
        features (Features): with dense ``tokens``.
        include_global (bool): prepend the global feature as one more
            region.
        owner (str): the learner, for the error message.
    """
    if features.tokens is None:
        raise ValueError(f'{owner} needs dense features; the classifier '
                         'provides them when needs_dense_features.')
    tokens, mask = features.tokens, features.token_mask
    if mask is None:
        mask = torch.ones(tokens.shape[:2], dtype=torch.bool,
                          device=tokens.device)
    if include_global:
        tokens = torch.cat([features.pooled.unsqueeze(1), tokens], 1)
        mask = torch.cat([mask.new_ones(mask.shape[0], 1), mask], 1)
    return F.normalize(tokens.float(), dim=-1), mask


def region_weights(cos: Tensor, mask: Tensor, temperature: float) -> Tensor:
    """``softmax_r(τ · cos)`` over the real regions.

    Args:
        cos (Tensor): cosines ``(B, R, C)``.
        mask (Tensor): ``(B, R)`` bool, True for real regions.
        temperature (float): τ.

    Returns:
        Tensor: weights ``(B, R, C)`` summing to 1 over ``R``.
    """
    return (temperature * cos).masked_fill(
        ~mask.unsqueeze(-1), float('-inf')).softmax(dim=1)


def aggregate_regions(regions: Tensor, mask: Tensor, text: Tensor,
                      temperature: float) -> Tensor:
    """``Σ_r softmax_r(τ · cos_rc) · cos_rc`` of unit-norm features.

    Args:
        regions (Tensor): ``(B, R, D)``.
        mask (Tensor): ``(B, R)``.
        text (Tensor): class features ``(C, D)``.
        temperature (float): τ.

    Returns:
        Tensor: pooled cosines ``(B, C)``.
    """
    cos = regions @ text.t()  # (B, R, C)
    return (region_weights(cos, mask, temperature) * cos).sum(1)
