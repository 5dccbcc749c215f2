"""Binary cross-entropy over all (image, class) pairs."""
import torch.nn.functional as F
from torch import Tensor, nn

from mmccr.registry import LOSSES

from .utils import known_mask, reduce_loss


@LOSSES.register_module()
class BCELoss(nn.Module):
    r"""Binary cross-entropy with logits (the CCR paper's Eq. 4).

    .. math::
        L = -\frac{1}{|K|}\sum_{(b,c) \in K} y_{bc}\log\sigma(z_{bc})
            + (1 - y_{bc})\log(1 - \sigma(z_{bc}))

    where :math:`K` is the set of known labels (label -1 is ignored).

    Args:
        reduction (str): ``'mean'`` (over known entries), ``'sum'`` or
            ``'batch_mean'``. Defaults to ``'mean'``.
        loss_weight (float): multiplier. Defaults to 1.
    """

    def __init__(self, reduction: str = 'mean',
                 loss_weight: float = 1.) -> None:
        super().__init__()
        self.reduction = reduction
        self.loss_weight = loss_weight

    def forward(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Args: logits ``(B, C)``; labels ``(B, C)`` in {1, 0, -1}."""
        mask = known_mask(labels)
        loss = F.binary_cross_entropy_with_logits(
            logits.float(), labels.clamp(min=0).float(), reduction='none')
        return self.loss_weight * reduce_loss(loss, mask, self.reduction)
