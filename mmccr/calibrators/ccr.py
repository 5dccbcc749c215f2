"""Class-wise Covariance Regularization (CCR).

Zhou et al., "Rethinking BCE Loss for Multi-Label Image Recognition with
Fine-Tuning", CVPR 2026. CCR aligns the correlation of the predicted class
confidences in a batch with the cosine similarities of the frozen
zero-shot class text embeddings:
``L = L_base + lambda * ||corr(C_pred) - Sigma_text||_F^2``.
"""
from typing import Dict, Tuple

import torch
from torch import Tensor

from mmccr.registry import CALIBRATORS
from mmccr.utils.dist import all_gather_with_grad

from .base import BaseCalibrator

_PAIRS = ('joint_negative', 'all')
_NORMALISE = ('pairwise', 'diagonal')


def predicted_correlation(probs: Tensor,
                          labels: Tensor,
                          pairs: str = 'joint_negative',
                          eps: float = 1e-6,
                          normalise: str = 'pairwise') -> Tensor:
    r"""Batch correlation of class confidences.

    For every class pair (i, j) the statistics run over a sample set
    :math:`S_{ij}`: with ``pairs='joint_negative'`` the samples in which
    both labels are 0 (:math:`S_{ii}` = samples where class i is negative);
    with ``pairs='all'`` every sample. With ``normalise='pairwise'``
    (default) the variances are taken over the pair's own set,

    .. math::
        \tilde C_{ij} = \frac{\mathrm{cov}_{S_{ij}}(p_i, p_j)}
            {\sqrt{\mathrm{var}_{S_{ij}}(p_i) + \epsilon}
             \sqrt{\mathrm{var}_{S_{ij}}(p_j) + \epsilon}},

    a correlation in [-1, 1]; with ``normalise='diagonal'`` (the paper's
    Eq. 9 read literally) by the diagonal of the covariance matrix,
    :math:`C_{ii} = \mathrm{var}_{S_{ii}}(p_i)`,

    .. math::
        \tilde C_{ij} = \frac{\mathrm{cov}_{S_{ij}}(p_i, p_j)}
            {\sqrt{C_{ii} + \epsilon} \sqrt{C_{jj} + \epsilon}},

    which is not bounded by 1 when :math:`S_{ij} \neq S_{ii}`. Population
    (1/n) statistics; an empty :math:`S_{ij}` gives 0. The statistics are
    computed in the dtype of ``probs`` (float32 for lower precisions).

    Args:
        probs (Tensor): confidences :math:`\sigma(z)` ``(B, C)``.
        labels (Tensor): labels in {1, 0, -1} ``(B, C)``; -1 counts as
            neither positive nor negative.
        pairs (str): ``'joint_negative'`` or ``'all'``.
        eps (float): added to the variances inside the square roots.
        normalise (str): ``'pairwise'`` or ``'diagonal'``.

    Returns:
        Tensor: correlation matrix ``(C, C)``.
    """
    if normalise not in _NORMALISE:
        raise ValueError(f'normalise must be one of {_NORMALISE}, got '
                         f'{normalise!r}')
    cov, var_i, var_j = pair_statistics(probs, labels, pairs)
    if normalise == 'diagonal':
        diag = torch.diagonal(cov)  # C_ii = var over S_ii
        return cov / (torch.sqrt(diag + eps)[:, None] *
                      torch.sqrt(diag + eps)[None])
    return cov / (torch.sqrt(var_i + eps) * torch.sqrt(var_j + eps))


def pair_statistics(probs: Tensor, labels: Tensor,
                    pairs: str = 'joint_negative') -> Tuple[Tensor, ...]:
    r"""Covariance and variances of every class pair over :math:`S_{ij}`.

    Args:
        probs (Tensor): confidences ``(B, C)``; float64 stays float64,
            other dtypes are computed in float32.
        labels (Tensor): labels in {1, 0, -1} ``(B, C)``.
        pairs (str): ``'joint_negative'`` or ``'all'`` (see
            :func:`predicted_correlation`).

    Returns:
        tuple: ``cov``, ``var_i`` (of class i over :math:`S_{ij}`) and
        ``var_j`` (of class j over :math:`S_{ij}`), each ``(C, C)``,
        population statistics, 0 for an empty :math:`S_{ij}`.
    """
    if pairs not in _PAIRS:
        raise ValueError(f'pairs must be one of {_PAIRS}, got {pairs!r}')
    if probs.dtype != torch.float64:
        probs = probs.float()
    if pairs == 'all':
        mask = torch.ones_like(probs)
    else:
        mask = (labels == 0).to(probs.dtype)
    # w[b, i, j] = 1 if sample b is in S_ij
    w = mask.unsqueeze(2) * mask.unsqueeze(1)
    n = w.sum(0).clamp(min=1)  # (C, C)
    p_i = probs.unsqueeze(2)  # (B, C, 1): value of class i
    p_j = probs.unsqueeze(1)  # (B, 1, C): value of class j
    mean_i = (w * p_i).sum(0) / n
    mean_j = (w * p_j).sum(0) / n
    d_i = (p_i - mean_i) * w
    d_j = (p_j - mean_j) * w
    cov = (d_i * d_j).sum(0) / n
    return cov, (d_i * d_i).sum(0) / n, (d_j * d_j).sum(0) / n


def ccr_loss(probs: Tensor,
             labels: Tensor,
             text_sim: Tensor,
             *,
             pairs: str = 'joint_negative',
             eps: float = 1e-6,
             reduction: str = 'sum',
             normalise: str = 'pairwise') -> Tensor:
    r"""CCR loss :math:`\|\tilde C_{pred} - \Sigma_{text}\|_F^2`.

    Args:
        probs (Tensor): confidences :math:`\sigma(z)` ``(B, C)``.
        labels (Tensor): labels in {1, 0, -1} ``(B, C)``.
        text_sim (Tensor): target cosine similarities ``(C, C)``; no gradient
            flows into it.
        pairs (str): ``'joint_negative'`` (default) or ``'all'``.
        eps (float): variance epsilon. Defaults to 1e-6.
        reduction (str): ``'sum'`` over the C×C entries (default) or
            ``'mean'`` (divided by C²).
        normalise (str): ``'pairwise'`` (default) or ``'diagonal'``; see
            :func:`predicted_correlation`.

    Returns:
        Tensor: scalar loss.
    """
    corr = predicted_correlation(probs, labels, pairs=pairs, eps=eps,
                                 normalise=normalise)
    return _frobenius(corr - text_sim.detach().to(corr), reduction)


def _frobenius(diff: Tensor, reduction: str) -> Tensor:
    """Squared Frobenius norm of ``diff`` ``(C, C)``, summed or averaged."""
    if reduction == 'sum':
        return diff.pow(2).sum()
    if reduction == 'mean':
        return diff.pow(2).mean()
    raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")


@CALIBRATORS.register_module()
class CCR(BaseCalibrator):
    """Class-wise Covariance Regularization (train-time).

    Args:
        loss_weight (float): λ, the weight of the CCR term. The paper does not
            state it; see ``docs/calibrators.md`` for mmccr's default.
            Defaults to 1e-3.
        pairs (str): ``'joint_negative'`` (the paper's co-inactive pairs) or
            ``'all'``. Defaults to ``'joint_negative'``.
        eps (float): variance epsilon. Defaults to 1e-6.
        reduction (str): ``'sum'`` or ``'mean'``. Defaults to ``'sum'``.
        global_batch (bool): under DDP, gather confidences and labels from all
            ranks (gradients preserved) before computing the statistics.
            Defaults to False (each rank uses its own mini-batch).
        normalise (str): ``'pairwise'`` (variances over each pair's sample
            set; default) or ``'diagonal'`` (the paper's Eq. 9 read
            literally: the diagonal C(i, i) over S_ii); see
            :func:`predicted_correlation`.
        float64 (bool): compute σ(z) and the statistics in float64 (CLIP's
            scale of 100 saturates float32 σ for logits ≳ 17). Defaults to
            False.
    """

    def __init__(self,
                 loss_weight: float = 1e-3,
                 pairs: str = 'joint_negative',
                 eps: float = 1e-6,
                 reduction: str = 'sum',
                 global_batch: bool = False,
                 normalise: str = 'pairwise',
                 float64: bool = False) -> None:
        super().__init__()
        if pairs not in _PAIRS:
            raise ValueError(f'pairs must be one of {_PAIRS}, got {pairs!r}')
        if normalise not in _NORMALISE:
            raise ValueError(f'normalise must be one of {_NORMALISE}, got '
                             f'{normalise!r}')
        if reduction not in ('sum', 'mean'):
            raise ValueError(
                f"reduction must be 'sum' or 'mean', got {reduction!r}")
        self.loss_weight = loss_weight
        self.pairs = pairs
        self.eps = eps
        self.reduction = reduction
        self.global_batch = global_batch
        self.normalise = normalise
        self.float64 = float64
        self.register_buffer('text_sim', torch.empty(0, 0), persistent=False)

    def set_classes(self, view) -> None:
        """Store Σ_text, the cosine similarities of the zero-shot features."""
        feats = view.zero_shot_features().detach().float()
        self.text_sim = (feats @ feats.t()).to(self.text_sim.device)

    def loss(self, output, labels: Tensor, view=None) -> Dict[str, Tensor]:
        """CCR term ``loss_ccr`` and the logged mean off-diagonal gap."""
        dtype = torch.float64 if self.float64 else torch.float32
        probs = torch.sigmoid(output.logits.to(dtype))
        if self.global_batch:
            probs = all_gather_with_grad(probs)
            labels = all_gather_with_grad(labels.float())
        corr = predicted_correlation(probs, labels, self.pairs, self.eps,
                                     self.normalise)
        diff = corr - self.text_sim.to(dtype)
        num = corr.shape[0]
        off_diag = ~torch.eye(num, dtype=torch.bool, device=corr.device)
        gap = diff.abs()[off_diag].mean() if num > 1 else corr.new_zeros(())
        return {
            'loss_ccr':
            self.loss_weight * _frobenius(diff, self.reduction).float(),
            'ccr_gap': gap.detach().float(),
        }
