"""Helpers shared by the multi-label losses."""
from torch import Tensor


def known_mask(labels: Tensor) -> Tensor:
    """Mask of the labels that take part in a loss.

    Labels are 1 (positive), 0 (negative) or -1 (unknown / ignored).

    Returns:
        Tensor: float mask ``(B, C)``, 1 where the label is 0 or 1.
    """
    return (labels >= 0).float()


def reduce_loss(loss: Tensor, mask: Tensor, reduction: str) -> Tensor:
    """Reduce an element-wise loss ``(B, C)`` over its known entries.

    Args:
        loss (Tensor): element-wise loss ``(B, C)``.
        mask (Tensor): 1 for the entries that count ``(B, C)``.
        reduction (str): ``'mean'`` over the known entries, ``'sum'``, or
            ``'batch_mean'`` (sum over classes, mean over images).
    """
    loss = loss * mask
    if reduction == 'sum':
        return loss.sum()
    if reduction == 'mean':
        return loss.sum() / mask.sum().clamp(min=1)
    if reduction == 'batch_mean':
        return loss.sum() / max(loss.shape[0], 1)
    raise ValueError(f"reduction must be 'mean', 'sum' or 'batch_mean', "
                     f'got {reduction!r}')
