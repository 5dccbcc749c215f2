"""DAC: Distance-Aware Calibration (post-hoc), multi-label port.

Wang et al., "Open-Vocabulary Calibration for Fine-tuned CLIP", ICML 2024.
Prompt tuning pushes the text features of new classes away from the base
classes, and their confidence goes up. DAC compares how close each class is
to its K nearest base classes before (zero-shot) and after tuning and
scales its logit by the ratio of the two proximities. Nothing is trained.
"""
import torch
from mmengine.logging import print_log
from torch import Tensor

from mmccr.registry import CALIBRATORS

from .base import BaseCalibrator


def dac_factors(zero_shot: Tensor,
                tuned: Tensor,
                zero_shot_base: Tensor,
                tuned_base: Tensor,
                k: int = 5,
                base_guard: bool = True,
                guard_threshold: float = 0.05) -> Tensor:
    r"""Per-class logit factors :math:`s_c`.

    With :math:`d(c)` the K smallest Euclidean distances from class c's
    feature to the base-class features,

    .. math::
        s_c = \frac{\exp(-\mathrm{mean}\, d_{tuned}(c))}
                   {\exp(-\mathrm{mean}\, d_{zero\text{-}shot}(c))},

    and :math:`s_c = 1` under the base guard when the nearest tuned
    base-class feature is closer than ``guard_threshold`` (the class is a
    base class). Computed in float64.

    Args:
        zero_shot (Tensor): zero-shot features of the classes ``(C, D)``.
        tuned (Tensor): tuned features of the classes ``(C, D)``.
        zero_shot_base (Tensor): zero-shot base-class features ``(B, D)``.
        tuned_base (Tensor): tuned base-class features ``(B, D)``.
        k (int): nearest base classes (all of them if fewer). Defaults to 5.
        base_guard (bool): leave base classes unscaled. Defaults to True.
        guard_threshold (float): distance below which a class counts as a
            base class. Defaults to 0.05.

    Returns:
        Tensor: positive factors ``(C,)`` (float64).
    """
    if k < 1:
        raise ValueError(f'k must be >= 1, got {k}')
    k = min(k, zero_shot_base.shape[0])
    d_zs = torch.cdist(zero_shot.double(), zero_shot_base.double())
    d_ft = torch.cdist(tuned.double(), tuned_base.double())
    near_zs = d_zs.topk(k, dim=1, largest=False).values
    near_ft = d_ft.topk(k, dim=1, largest=False).values
    factors = torch.exp(near_zs.mean(1) - near_ft.mean(1))
    if base_guard:
        factors[near_ft[:, 0] < guard_threshold] = 1.0
    return factors


@CALIBRATORS.register_module()
class DAC(BaseCalibrator):
    """Distance-aware calibration: ``z'_c = s_c · z_c`` per class.

    The factors are recomputed from the current prompts whenever the
    classes are set (before every evaluation). Base classes are the classes
    the prompts were trained on (``view.base_classnames``). A positive
    factor keeps the sign of every logit, so predictions at threshold 0.5
    and per-class rankings (mAP) are unchanged.

    Args:
        k (int): nearest base classes. Defaults to 5.
        base_guard (bool): factor 1 for classes whose nearest tuned base
            feature is within ``guard_threshold`` (the base classes).
            Defaults to True.
        guard_threshold (float): Defaults to 0.05.
    """

    needs_tuned_features = True

    def __init__(self,
                 k: int = 5,
                 base_guard: bool = True,
                 guard_threshold: float = 0.05) -> None:
        super().__init__()
        if k < 1:
            raise ValueError(f'k must be >= 1, got {k}')
        self.k = k
        self.base_guard = base_guard
        self.guard_threshold = guard_threshold
        self.register_buffer('factors', torch.empty(0), persistent=False)

    @torch.no_grad()
    def set_classes(self, view) -> None:
        """Factors of the current classes against the base classes."""
        base = view.base_classnames
        factors = dac_factors(
            view.zero_shot_features(), view.tuned_features(),
            view.zero_shot_features(base), view.tuned_features(base),
            self.k, self.base_guard, self.guard_threshold)
        self.factors = factors.float().to(self.factors.device)
        scaled = [n for n, s in zip(view.classnames, factors.tolist(),
                                    strict=True) if s != 1.0]
        listed = ', '.join(scaled[:10]) + (' …' if len(scaled) > 10 else '')
        print_log(
            f'DAC: {len(scaled)} of {len(factors)} classes scaled (factors '
            f'{factors.min():.3f}–{factors.max():.3f})'
            + (f': {listed}' if scaled else ''),
            logger='current')

    def calibrate(self, logits: Tensor) -> Tensor:
        """Scale each class's logits ``(B, C)`` by its factor."""
        if logits.shape[-1] != self.factors.numel():
            raise RuntimeError(
                f'DAC has factors for {self.factors.numel()} classes but got '
                f'logits for {logits.shape[-1]}; set_classes() first.')
        return logits * self.factors.to(logits)
