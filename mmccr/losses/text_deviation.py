"""How far tuned text features moved from the frozen zero-shot ones.

The pull back towards the hand-crafted prompts of KgCoOp (Yao et al.,
"Visual-Language Prompt Tuning with Knowledge-guided Context
Optimization", CVPR 2023), of the text-anchor calibrator, and of DOR (on
outlier words instead of the training classes).
"""
import torch.nn.functional as F
from torch import Tensor

FORMS = ('cosine', 'squared_l2')


def text_deviation(tuned: Tensor, zero_shot: Tensor,
                   form: str = 'cosine') -> Tensor:
    r"""Mean deviation of tuned text features from zero-shot ones.

    * ``'cosine'``: :math:`1 - \frac1N\sum_n \cos(t'_n, t_n)` — KgCoOp's
      official code and DOR;
    * ``'squared_l2'``: :math:`\frac1N\sum_n \|\hat t'_n - \hat t_n\|^2` of
      the unit-normalised features — KgCoOp's paper, twice the cosine form.

    Args:
        tuned (Tensor): tuned text features ``(N, D)``, or per image
            ``(B, N, D)`` (image-conditioned prompts; averaged over both).
        zero_shot (Tensor): frozen zero-shot features ``(N, D)``; no
            gradient flows into them.
        form (str): ``'cosine'`` or ``'squared_l2'``.

    Returns:
        Tensor: scalar deviation, 0 when the features coincide.
    """
    if form not in FORMS:
        raise ValueError(f'form must be one of {FORMS}, got {form!r}')
    tuned = F.normalize(tuned.float(), dim=-1)
    zero_shot = F.normalize(zero_shot.detach().float(),
                            dim=-1).to(tuned.device)
    if form == 'cosine':
        return 1 - (tuned * zero_shot).sum(-1).mean()
    return (tuned - zero_shot).pow(2).sum(-1).mean()
