"""Exact resume with worker processes: a run SIGKILLed at a random
iteration and resumed equals the uninterrupted run.

Both runs load data with 2 persistent worker processes and random flips;
augmentation is seeded per sample from (seed, epoch, index), so the resumed
epoch draws what the uninterrupted one drew.
"""
import json
import os
import random
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from test_runner import DEMO, REPO, train_losses

from mmccr.datasets import SampleIndex, SeededSampler, SyntheticShapes
from mmccr.utils import register_all_modules

KILLER = '''
import os
import signal

from mmengine.hooks import Hook

from mmccr.registry import HOOKS


@HOOKS.register_module()
class SigkillAt(Hook):
    """SIGKILLs its own process after training iteration ``iteration``
    (1-based), once: a marker file keeps the resumed run alive."""

    priority = 'LOWEST'

    def __init__(self, iteration, marker):
        self.iteration, self.marker = iteration, marker

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.iteration and \\
                not os.path.exists(self.marker):
            open(self.marker, 'w').close()
            os.kill(os.getpid(), signal.SIGKILL)
'''

EPOCHS, ITERS = 3, 4  # 16 few-shot images (4 shots), batch 4


def write_configs(tmp_path, iteration: int) -> tuple:
    options = dict(
        train_dataloader=dict(
            batch_size=4,
            num_workers=2,
            persistent_workers=True,
            dataset=dict(num_images=96, num_shots=4,
                         data_root=str(tmp_path / 'data'))),
        val_dataloader=dict(dataset=dict(num_images=32)),
        test_dataloader=dict(dataset=dict(num_images=32)),
        train_cfg=dict(max_epochs=EPOCHS, val_interval=EPOCHS),
        default_hooks=dict(logger=dict(interval=1)))
    plain = tmp_path / 'plain.py'
    plain.write_text(f'_base_ = [{DEMO!r}]\n' + ''.join(
        f'{k} = {v!r}\n' for k, v in options.items()))
    hooks = Config.fromfile(DEMO).custom_hooks + [
        dict(type='SigkillAt', iteration=iteration,
             marker=str(tmp_path / 'killed'))
    ]
    killer = tmp_path / 'killer.py'
    killer.write_text(
        f'_base_ = [{str(plain)!r}]\n'
        "custom_imports = dict(imports=['sigkill_at'], "
        'allow_failed_imports=False)\n'
        f'custom_hooks = {hooks!r}\n')
    (tmp_path / 'sigkill_at.py').write_text(KILLER)
    return str(plain), str(killer)


def train(config: str, work_dir, tmp_path,
          *extra) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(
                   [str(tmp_path), os.environ.get('PYTHONPATH', '')]))
    return subprocess.run(
        [sys.executable, 'tools/train.py', config, '--work-dir',
         str(work_dir), *extra], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=600)


def final_state(work_dir) -> tuple:
    metrics = json.loads(
        (work_dir / f'epoch_{EPOCHS}_val_results.json').read_text())['metrics']
    ctx = torch.load(work_dir / f'epoch_{EPOCHS}.pth',
                     weights_only=True)['state_dict']['learner.ctx']
    return metrics, ctx


def test_sigkill_resume_with_persistent_workers_is_exact(tmp_path):
    # A random iteration after the first checkpoint (epoch 1 is saved).
    iteration = random.Random().randint(ITERS + 1, EPOCHS * ITERS - 1)
    print(f'SIGKILL after iteration {iteration}')
    plain, killer = write_configs(tmp_path, iteration)

    full = train(plain, tmp_path / 'full', tmp_path)
    assert full.returncode == 0, full.stderr[-3000:]

    killed = train(killer, tmp_path / 'killed_run', tmp_path)
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert not (tmp_path / 'killed_run' / f'epoch_{EPOCHS}.pth').exists()
    resumed = train(killer, tmp_path / 'killed_run', tmp_path, '--resume')
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert 'resumed epoch: ' in resumed.stdout + resumed.stderr

    # Every iteration's loss (those run twice included) and the final
    # metrics and prompt are those of the uninterrupted run.
    losses_full = train_losses(tmp_path / 'full')
    losses_resumed = train_losses(tmp_path / 'killed_run')
    assert len(losses_full) == EPOCHS * ITERS
    assert sorted(losses_resumed) == sorted(losses_full)
    for key, value in losses_full.items():
        assert losses_resumed[key] == pytest.approx(value, rel=1e-6), key
    metrics_full, ctx_full = final_state(tmp_path / 'full')
    metrics_resumed, ctx_resumed = final_state(tmp_path / 'killed_run')
    assert metrics_resumed == pytest.approx(metrics_full, rel=1e-6)
    assert torch.allclose(ctx_resumed, ctx_full, rtol=1e-6, atol=0)


def test_augmentation_depends_on_seed_epoch_and_index_only():
    """The same SampleIndex gives the same flip, whatever was drawn
    before; another epoch or seed gives an independent draw."""
    register_all_modules()
    dataset = SyntheticShapes(num_images=8, image_size=16,
                              pipeline=[dict(type='LoadImage'),
                                        dict(type='RandomFlip', prob=0.5),
                                        dict(type='PackInputs')],
                              data_root=None, serialize_data=False)

    def image(index, seed, epoch):
        return dataset[SampleIndex(index, seed, epoch)]['inputs']

    first = image(3, seed=1, epoch=2)
    torch.rand(100)  # the caller's streams do not matter
    state = torch.get_rng_state()
    assert torch.equal(image(3, seed=1, epoch=2), first)
    assert torch.equal(torch.get_rng_state(), state)  # and stay untouched
    # Over epochs, sample 3 is flipped in some and not in others.
    plain = dataset[3]['inputs']
    flips = [not torch.equal(image(3, 1, e), plain) for e in range(16)]
    assert 0 < sum(flips) < 16


def test_sampler_order_is_default_sampler_order():
    from mmengine.dataset import DefaultSampler
    data = list(range(10))
    seeded, default = SeededSampler(data, seed=5), DefaultSampler(data, seed=5)
    seeded.set_epoch(3)
    default.set_epoch(3)
    keys = list(seeded)
    assert [int(k) for k in keys] == list(default)
    assert {(k.seed, k.epoch) for k in keys} == {(5, 3)}
