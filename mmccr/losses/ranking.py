"""Pairwise multi-label ranking loss (TaI-DPT)."""
import torch
from torch import Tensor, nn

from mmccr.registry import LOSSES


@LOSSES.register_module()
class RankingLoss(nn.Module):
    r"""Hinge on every (positive, negative) class pair of an image.

    .. math::
        L = \frac{1}{B}\sum_b \sum_{i: y_{bi}=1} \sum_{j: y_{bj}=0}
            \max(0,\ m - s z_{bi} + s z_{bj})

    as in TaI-DPT (margin 1, scale 1). Unknown labels (-1) are in neither
    set.

    Args:
        margin (float): hinge margin :math:`m`. Defaults to 1.
        scale (float): logit multiplier :math:`s`. Defaults to 1.
        loss_weight (float): multiplier. Defaults to 1.
    """

    def __init__(self, margin: float = 1., scale: float = 1.,
                 loss_weight: float = 1.) -> None:
        super().__init__()
        self.margin = margin
        self.scale = scale
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Args: logits ``(B, C)``; labels ``(B, C)`` in {1, 0, -1}."""
        z = self.scale * logits.float()
        pos = (labels == 1).float()
        neg = (labels == 0).float()
        # hinge[b, i, j] = max(0, m - z_bi + z_bj) for i positive, j negative
        hinge = torch.relu(self.margin - z.unsqueeze(2) + z.unsqueeze(1))
        pairs = pos.unsqueeze(2) * neg.unsqueeze(1)
        loss = (hinge * pairs).sum() / max(logits.shape[0], 1)
        return self.loss_weight * loss
