"""Asymmetric loss (ASL) as used by DualCoOp."""
import torch
from torch import Tensor, nn

from mmccr.registry import LOSSES

from .utils import known_mask, reduce_loss


@LOSSES.register_module()
class AsymmetricLoss(nn.Module):
    r"""Asymmetric loss on sigmoid probabilities.

    With :math:`p = \sigma(z)` and the shifted probability
    :math:`p_m = \max(p - \text{clip}, 0)`:

    .. math::
        L = -\sum y (1-p)^{\gamma_+} \log p
            + (1-y)\, p_m^{\gamma_-} \log(1 - p_m)

    The logarithms are clamped at ``eps`` and the focusing weights carry no
    gradient, as in DualCoOp (γ+ = 1, γ− = 2, clip 0.05, summed).

    Args:
        gamma_pos (float): focusing exponent for positives. Defaults to 1.
        gamma_neg (float): focusing exponent for negatives. Defaults to 2.
        clip (float): probability shift for negatives. Defaults to 0.05.
        eps (float): clamp of the logarithms. Defaults to 1e-6.
        reduction (str): ``'sum'``, ``'mean'`` or ``'batch_mean'``.
            Defaults to ``'sum'``.
        loss_weight (float): multiplier (DualCoOp's ``loss_w``). Defaults
            to 1.
    """

    def __init__(self,
                 gamma_pos: float = 1.,
                 gamma_neg: float = 2.,
                 clip: float = 0.05,
                 eps: float = 1e-6,
                 reduction: str = 'sum',
                 loss_weight: float = 1.) -> None:
        super().__init__()
        self.gamma_pos = gamma_pos
        self.gamma_neg = gamma_neg
        self.clip = clip
        self.eps = eps
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Args: logits ``(B, C)``; labels ``(B, C)`` in {1, 0, -1}."""
        mask = known_mask(labels)
        y = labels.clamp(min=0).float()
        p = torch.sigmoid(logits.float())
        p_neg = (p - self.clip).clamp(min=0) if self.clip > 0 else p
        log_pos = torch.log(p.clamp(min=self.eps))
        log_neg = torch.log((1 - p_neg).clamp(min=self.eps))
        with torch.no_grad():
            w_pos = (1 - p).pow(self.gamma_pos)
            w_neg = p_neg.pow(self.gamma_neg)
        loss = -(y * w_pos * log_pos + (1 - y) * w_neg * log_neg)
        return self.loss_weight * reduce_loss(loss, mask, self.reduction)
