"""NonFiniteGuardHook: a NaN loss stops (or skips) the step, never saved."""
import glob
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from test_runner import DEMO, REPO, demo_cfg, small_options

from mmccr.engine.hooks import NonFiniteGuardHook, NonFiniteLossError


class InjectNaN(Hook):
    """Multiplies the loss by NaN at training iteration ``at`` (0-based),
    and records the trained prompt just before and after that iteration."""

    priority = 'VERY_HIGH'

    def __init__(self, at: int) -> None:
        self.at = at
        self.before = self.after = None
        self._handle = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at:
            self.before = runner.model.learner.ctx.detach().clone()
            self._handle = runner.model.loss_fn.register_forward_hook(
                lambda module, args, out: out * float('nan'))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter == self.at:
            self._handle.remove()
            self.after = runner.model.learner.ctx.detach().clone()


def guard_of(runner) -> NonFiniteGuardHook:
    return next(h for h in runner.hooks if isinstance(h, NonFiniteGuardHook))


def assert_checkpoints_finite(work_dir) -> list:
    paths = sorted(glob.glob(osp.join(work_dir, 'epoch_*.pth')))
    for path in paths:
        state = torch.load(path, weights_only=True)['state_dict']
        assert all(torch.isfinite(v).all() for v in state.values()), path
    return [osp.basename(p) for p in paths]


def test_nan_loss_stops_with_iteration_terms_and_last_checkpoint(tmp_path):
    # 4 iterations per epoch (batch 4): iteration index 5 is epoch 2,
    # batch 2.
    runner = Runner.from_cfg(demo_cfg(tmp_path, 'stop'))
    assert len(runner.train_dataloader) == 4
    inject = InjectNaN(at=5)
    runner.register_hook(inject)
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    msg = str(info.value)
    assert 'non-finite loss terms' in msg
    assert 'at iteration 6 (epoch 2, batch 2)' in msg
    assert 'loss=nan' in msg
    assert f'Last checkpoint: {tmp_path / "epoch_1.pth"}.' in msg
    # The NaN step was never taken, and nothing after it was saved.
    assert torch.equal(inject.after, inject.before)
    assert torch.isfinite(runner.model.learner.ctx).all()
    assert assert_checkpoints_finite(tmp_path) == ['epoch_1.pth']


def test_skip_drops_only_the_bad_step(tmp_path):
    cfg = demo_cfg(tmp_path, 'skip')
    cfg.custom_hooks = [
        dict(h, action='skip') if h['type'] == 'NonFiniteGuardHook' else h
        for h in cfg.custom_hooks
    ]
    runner = Runner.from_cfg(cfg)
    inject = InjectNaN(at=3)
    runner.register_hook(inject)
    runner.train()
    assert torch.equal(inject.after, inject.before)
    # Training went on: the prompt moved after the skipped step.
    assert not torch.equal(runner.model.learner.ctx.detach(), inject.after)
    assert guard_of(runner)._consecutive == 0
    assert assert_checkpoints_finite(tmp_path) == [
        'epoch_3.pth', 'epoch_4.pth'
    ]


def test_skip_stops_after_consecutive_bad_steps(tmp_path):
    cfg = demo_cfg(tmp_path, 'skip')
    cfg.custom_hooks = [
        dict(h, action='skip', max_consecutive_skips=2)
        if h['type'] == 'NonFiniteGuardHook' else h for h in cfg.custom_hooks
    ]
    runner = Runner.from_cfg(cfg)
    runner.model.loss_fn.register_forward_hook(
        lambda module, args, out: out * float('nan'))
    with pytest.raises(NonFiniteLossError) as info:
        runner.train()
    assert 'at iteration 2 (epoch 1, batch 2) (2 bad iterations in a row)' \
        in str(info.value)
    assert 'Last checkpoint: none saved yet.' in str(info.value)


def test_hook_rejects_unknown_action():
    with pytest.raises(ValueError, match="'stop' or 'skip'"):
        NonFiniteGuardHook(action='ignore')


def test_diverging_lr_exits_non_zero(tmp_path):
    """The issue's repro: lr=1e30 used to log NaN losses and exit 0."""
    proc = subprocess.run([
        sys.executable, 'tools/train.py', DEMO, '--work-dir',
        str(tmp_path), '--cfg-options', 'optim_wrapper.optimizer.lr=1e30',
        'train_cfg.max_epochs=3', *small_options(tmp_path)
    ], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert 'NonFiniteLossError: Training stopped' in proc.stderr
    assert assert_checkpoints_finite(tmp_path) is not None
