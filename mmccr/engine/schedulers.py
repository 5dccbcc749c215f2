"""Learning-rate schedule of the CoOp / Dassl recipes."""
import math
from typing import Optional

from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler

from mmccr.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class ConstantWarmupCosineLR(LRSchedulerMixin, _ParamScheduler):
    """Constant warm-up, then cosine annealing (Dassl's schedule).

    For step ``t`` (epochs with ``by_epoch=True``) counted from ``begin``:
    ``lr = warmup_lr`` while ``t < warmup_steps``, afterwards
    ``eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2``.
    The value is computed in closed form, so it is correct however many
    iterations an epoch has (mmengine's chained ``ConstantLR`` never
    restores the learning rate after a one-step warm-up).

    Args:
        optimizer: wrapped optimizer.
        T_max (int, optional): period of the cosine; defaults to
            ``end - begin``, which mmengine sets to the number of epochs.
        warmup_steps (int): steps at ``warmup_lr``. Defaults to 1.
        warmup_lr (float): learning rate during warm-up. Defaults to 1e-5.
        eta_min (float): final learning rate. Defaults to 0.
        begin, end, last_step, by_epoch, verbose: see mmengine's schedulers.
    """

    def __init__(self,
                 optimizer,
                 T_max: Optional[int] = None,
                 warmup_steps: int = 1,
                 warmup_lr: float = 1e-5,
                 eta_min: float = 0.,
                 begin: int = 0,
                 end: int = int(1e9),
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False) -> None:
        self.T_max = T_max or end - begin
        self.warmup_steps = warmup_steps
        self.warmup_lr = warmup_lr
        self.eta_min = eta_min
        super().__init__(
            optimizer,
            begin=begin,
            end=end,
            last_step=last_step,
            by_epoch=by_epoch,
            verbose=verbose)

    def _get_value(self) -> list:
        step = self.last_step  # steps taken since ``begin``
        if step < self.warmup_steps:
            return [self.warmup_lr for _ in self.base_values]
        factor = (1 + math.cos(math.pi * min(step, self.T_max) /
                               self.T_max)) / 2
        return [
            self.eta_min + (base - self.eta_min) * factor
            for base in self.base_values
        ]
