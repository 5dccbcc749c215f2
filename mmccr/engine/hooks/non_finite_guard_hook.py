"""Stop (or skip) training steps whose loss or gradients are not finite."""
import logging
import math
import os.path as osp
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.optim import OptimWrapperDict

from mmccr.registry import HOOKS


class NonFiniteLossError(RuntimeError):
    """Training met a non-finite loss or gradient (see the message)."""


def _finite(value) -> bool:
    if isinstance(value, torch.Tensor):
        return bool(torch.isfinite(value).all())
    return math.isfinite(float(value))


@HOOKS.register_module()
class NonFiniteGuardHook(Hook):
    """No optimizer step on a NaN/inf loss or gradient.

    Before every optimizer step the gradients are checked; if any is NaN
    or inf the step is not taken (all gradients are dropped, so neither the
    parameters nor the optimizer state change). After the step the
    trainable parameters are checked too (a finite but huge step can
    overflow them) and restored from their pre-step copy if not finite.
    After the iteration, a non-finite loss term or a dropped step either
    stops the run (``action='stop'``, the default) with a
    :class:`NonFiniteLossError` naming the iteration, every loss term's
    value and the last checkpoint saved, so the process exits non-zero; or
    (``action='skip'``) logs a warning and goes on, stopping only after
    ``max_consecutive_skips`` bad iterations in a row. Either way no NaN
    reaches the parameters, so none reaches a checkpoint. In distributed
    runs the ranks agree (one all-reduce of a flag per iteration), so they
    stop together.

    Args:
        action (str): ``'stop'`` or ``'skip'``. Defaults to ``'stop'``.
        max_consecutive_skips (int): with ``'skip'``, stop after this many
            bad iterations in a row. Defaults to 10.
    """

    # Before CheckpointHook (VERY_LOW): an iteration-based save never
    # follows a bad iteration.
    priority = 'ABOVE_NORMAL'

    def __init__(self,
                 action: str = 'stop',
                 max_consecutive_skips: int = 10) -> None:
        if action not in ('stop', 'skip'):
            raise ValueError(
                f"NonFiniteGuardHook: action must be 'stop' or 'skip', got "
                f'{action!r}')
        if max_consecutive_skips < 1:
            raise ValueError('NonFiniteGuardHook: max_consecutive_skips must '
                             f'be >= 1, got {max_consecutive_skips}')
        self.action = action
        self.max_consecutive_skips = max_consecutive_skips
        self._guarded: set = set()  # ids of optimizers with our step hooks
        self._handles: list = []
        self._dropped_step = False
        self._consecutive = 0
        self._backup: List[torch.Tensor] = []

    # ------------------------------------------------------------------ #
    # optimizer step hooks
    def _optimizers(self, runner) -> list:
        wrapper = runner.optim_wrapper
        wrappers = wrapper.values() if isinstance(
            wrapper, OptimWrapperDict) else [wrapper]
        return [w.optimizer for w in wrappers]

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Guard the current optimizers (also ones rebuilt since)."""
        self._dropped_step = False
        for optimizer in self._optimizers(runner):
            if id(optimizer) in self._guarded:
                continue
            self._guarded.add(id(optimizer))
            self._handles += [
                optimizer.register_step_pre_hook(self._before_step),
                optimizer.register_step_post_hook(self._after_step)
            ]

    @staticmethod
    def _params(optimizer) -> List[torch.Tensor]:
        return [p for group in optimizer.param_groups for p in group['params']]

    def _before_step(self, optimizer, args, kwargs) -> None:
        params = self._params(optimizer)
        if not all(_finite(p.grad) for p in params if p.grad is not None):
            for p in params:
                p.grad = None  # SGD, Adam, ... skip parameters without grad
            self._dropped_step = True
        self._backup = [p.detach().clone() for p in params]

    def _after_step(self, optimizer, args, kwargs) -> None:
        params = self._params(optimizer)
        if not all(_finite(p) for p in params):
            with torch.no_grad():
                for p, saved in zip(params, self._backup, strict=True):
                    p.copy_(saved)
            self._dropped_step = True
        self._backup = []

    # ------------------------------------------------------------------ #
    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        """Stop or skip after a bad iteration."""
        outputs = outputs or {}
        bad_terms = [k for k, v in outputs.items() if not _finite(v)]
        bad = bool(bad_terms) or self._dropped_step
        if get_world_size() > 1:
            flag = torch.tensor(float(bad))
            all_reduce(flag, op='sum')
            bad = bool(flag.item() > 0)
        if not bad:
            self._consecutive = 0
            return
        self._consecutive += 1
        where = (f'iteration {runner.iter + 1} (epoch {runner.epoch + 1}, '
                 f'batch {batch_idx + 1})')
        terms = ', '.join(f'{k}={float(v):.6g}' for k, v in outputs.items())
        cause = (f'non-finite loss terms {bad_terms}' if bad_terms else
                 'non-finite gradients or parameters')
        if self.action == 'skip' and \
                self._consecutive < self.max_consecutive_skips:
            print_log(
                f'NonFiniteGuardHook: {cause} at {where} ({terms}); the '
                'optimizer step was skipped.',
                logger='current',
                level=logging.WARNING)
            return
        repeat = (f' ({self._consecutive} bad iterations in a row)'
                  if self.action == 'skip' else '')
        raise NonFiniteLossError(
            f'Training stopped: {cause} at {where}{repeat}. Loss terms: '
            f'{terms or "(none logged)"}. No optimizer step was taken with '
            'them, and no checkpoint holds them. Last checkpoint: '
            f'{self._last_checkpoint(runner)}. Lower the learning rate, '
            'check the data, or set NonFiniteGuardHook(action=\'skip\') to '
            'skip such steps.')

    @staticmethod
    def _last_checkpoint(runner) -> str:
        path = osp.join(runner.work_dir, 'last_checkpoint')
        if osp.isfile(path):
            with open(path) as f:
                return f.read().strip() or 'none saved yet'
        return 'none saved yet'

    def after_train(self, runner) -> None:
        """Remove the optimizer hooks."""
        for handle in self._handles:
            handle.remove()
        self._handles, self._guarded = [], set()
