"""Runner-level tests: train, validate, test, resume and distributed runs.

They use the offline demo config (tiny random CLIP, generated shapes) with
smaller data, and check behaviour through the files a run leaves behind.
"""
import hashlib
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmccr.utils.config import load_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'configs', 'demo', 'coop_ccr_shapes_tiny.py')
ZERO_SHOT = osp.join(REPO, 'configs', 'demo', 'zeroshot_toyworld.py')


def demo_cfg(work_dir, name: str, **overrides) -> Config:
    """The demo config, shrunk for tests, writing into ``work_dir``."""
    cfg = load_config(DEMO)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = name
    cfg.train_dataloader.dataset.num_images = 96
    cfg.train_dataloader.dataset.num_shots = 4
    cfg.train_dataloader.dataset.data_root = str(work_dir / 'data')
    cfg.train_dataloader.batch_size = 4
    cfg.val_dataloader.dataset.num_images = 32
    cfg.test_dataloader = cfg.val_dataloader
    cfg.default_hooks.logger.interval = 1
    cfg.merge_from_dict(overrides)
    return cfg


def train_losses(work_dir) -> dict:
    """``{(epoch, iter): loss}`` from every run's ``scalars.json``."""
    losses = {}
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            with open(osp.join(root, 'scalars.json')) as f:
                for line in f:
                    rec = json.loads(line)
                    if 'loss' in rec:
                        losses[(rec['epoch'], rec['iter'])] = rec['loss']
    return losses


def only(folder, pattern: str, name: bool = False) -> str:
    """The text (or name) of the one file in ``folder`` matching
    ``pattern``."""
    found = list(folder.glob(pattern))
    assert len(found) == 1, (pattern, sorted(p.name for p in folder.iterdir()))
    return found[0].name if name else found[0].read_text()


def log_files(work_dir) -> str:
    """The text of every run's log file (``<timestamp>/<timestamp>.log``)."""
    return ''.join(
        open(osp.join(root, f), encoding='utf-8').read()
        for root, _, files in sorted(os.walk(work_dir)) for f in files
        if f.endswith('.log'))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_train_validate_test_and_checkpoint(tmp_path):
    """A full run trains, validates, tests and saves only the prompt."""
    runner = Runner.from_cfg(demo_cfg(tmp_path, 'full'))
    runner.train()
    metrics = runner.test()
    for key in ('recog/mAP_base', 'recog/mAP_new', 'recog/acc_HM',
                'calib/ECE_base', 'calib/ECE_new', 'calib/ECE_HM'):
        assert 0.0 <= metrics[key] <= 1.0, key
    ckpt = tmp_path / 'epoch_4.pth'
    # Kilobytes, not the CLIP weights, and loadable without unsafe pickles.
    assert ckpt.stat().st_size < 100_000
    assert torch.serialization.get_unsafe_globals_in_checkpoint(
        str(ckpt)) == []
    state = torch.load(ckpt, weights_only=True)['state_dict']
    assert list(state) == ['learner.ctx']
    # The checkpoint remembers the 6 base classes the prompts were trained on.
    base = runner.train_dataloader.dataset.metainfo['prompt_names']
    meta = torch.load(ckpt, weights_only=True)['meta']
    assert meta['train_classnames'] == base
    model_ctx = runner.model.learner.ctx.detach()
    assert torch.equal(state['learner.ctx'], model_ctx)
    # Training moved the prompt away from its random initialisation.
    init = Runner.from_cfg(demo_cfg(tmp_path / 'init', 'init')).model
    assert not torch.allclose(init.learner.ctx, model_ctx)
    # Training used the 6 base classes, evaluation all 12.
    assert len(runner.model.classnames) == 12
    assert len(runner.train_dataloader.dataset.metainfo['classes']) == 6
    # Each validation left per-class results beside its checkpoint.
    report = json.loads(
        (tmp_path / 'epoch_4_val_results.json').read_text())
    assert len(report['classes']) == 12
    assert report['groups']['base'] == list(range(6))
    for name in ('mAP', 'acc', 'ECE', 'ACE', 'MCE', 'PIECE'):
        key = ('recog/' if name in ('mAP', 'acc') else 'calib/') + name
        values = report['per_class'][key]
        assert len(values) == 12
        # The group value is the mean of the group's per-class values.
        base = [v for v in values[:6] if v is not None]
        assert report['metrics'][f'{key}_base'] == pytest.approx(
            sum(base) / len(base))
    pooled = report['reliability']['groups']['new']
    # 6 new classes x 32 images, all labels known.
    assert pooled['n_pairs'] == 6 * 32 and sum(pooled['count']) == 6 * 32


class Interrupt(Hook):
    """Stops training like Ctrl-C once epoch ``stop`` is saved."""

    priority = 'LOWEST'  # after the checkpoint hook

    def __init__(self, stop: int) -> None:
        self.stop = stop

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.stop:
            raise KeyboardInterrupt


def test_resume_reproduces_uninterrupted_run(tmp_path):
    """Interrupting after 2 epochs and resuming gives the same curve."""
    Runner.from_cfg(demo_cfg(tmp_path / 'a', 'a')).train()
    interrupted = Runner.from_cfg(demo_cfg(tmp_path / 'b', 'b1'))
    interrupted.register_hook(Interrupt(stop=2))
    with pytest.raises(KeyboardInterrupt):
        interrupted.train()
    assert not (tmp_path / 'b' / 'epoch_3.pth').exists()
    Runner.from_cfg(demo_cfg(tmp_path / 'b', 'b2', resume=True)).train()
    full, resumed = train_losses(tmp_path / 'a'), train_losses(tmp_path / 'b')
    assert {e for e, _ in full} == {1, 2, 3, 4}
    assert sorted(full) == sorted(resumed)
    for key in full:
        assert resumed[key] == pytest.approx(full[key], rel=1e-6), key


def unactivated_env(**env) -> dict:
    """The environment of an unactivated virtual environment.

    No folder with a ``torchrun`` executable stays on ``PATH``; the tools
    get the interpreter running the tests through ``PYTHON``, as a user of
    ``/path/.venv/bin/python`` without ``activate`` would pass it.
    """
    path = [
        d for d in os.environ.get('PATH', '').split(os.pathsep)
        if d and not osp.exists(osp.join(d, 'torchrun'))
    ]
    return {
        **os.environ, 'PATH': os.pathsep.join(path),
        'PYTHON': sys.executable, **env
    }


def run_tool(args, **env):
    """Run a repo tool in a fresh process; fail with its output."""
    proc = subprocess.run(
        args,
        cwd=REPO,
        env=unactivated_env(**env),
        capture_output=True,
        text=True,
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def small_options(work_dir) -> list:
    return [
        'train_dataloader.dataset.num_images=64',
        'train_dataloader.dataset.num_shots=2',
        f'train_dataloader.dataset.data_root={work_dir}/data',
        'train_dataloader.batch_size=4',
        'val_dataloader.dataset.num_images=24',
        'test_dataloader.dataset.num_images=24',
    ]


def test_tools_train_then_test(tmp_path):
    """tools/train.py, then tools/test.py and a 2-process dist_test.sh.

    The test set has an odd size (25), so the distributed sampler pads one
    rank; the gathered metrics must still equal the single-process ones.
    """
    work, test_dir = tmp_path / 'work', tmp_path / 'test'
    opts = [*small_options(work), 'val_dataloader.dataset.num_images=25',
            'test_dataloader.dataset.num_images=25']
    run_tool([
        sys.executable, 'tools/train.py', DEMO, '--work-dir',
        str(work), '--cfg-options', 'train_cfg.max_epochs=2', *opts
    ])
    ckpt = str(work / 'epoch_2.pth')
    out, plots = tmp_path / 'metrics.json', tmp_path / 'plots'
    proc = run_tool([
        sys.executable, 'tools/test.py', DEMO, ckpt, '--work-dir',
        str(test_dir), '--out', str(out), '--plot-dir',
        str(plots), '--cfg-options', *opts
    ])
    metrics = json.loads(out.read_text())
    assert 0.0 <= metrics['recog/mAP_all'] <= 1.0
    assert 0.0 <= metrics['calib/PIECE_new'] <= 1.0
    # The table, the per-class JSON in the work dir, the diagrams.
    log = proc.stdout + proc.stderr
    assert 'PIECE' in log and 'HM' in log
    assert 'Reference features for PIECE: ' in log
    # Named after the checkpoint and the config's calibrator (CCR).
    configured = load_config(DEMO).model.calibrators
    assert [c['type'] for c in configured] == ['CCR']
    report = json.loads(only(test_dir, 'epoch_2_test_CCR-*_results.json'))
    assert report['calibrators'] == [dict(c) for c in configured]
    assert report['checkpoint'] == ckpt
    assert report['checkpoint_sha256'] == hashlib.sha256(
        (work / 'epoch_2.pth').read_bytes()).hexdigest()
    assert report['metrics'] == metrics
    # Nothing is written beside the checkpoint but the training's files.
    assert not list(work.glob('*test*'))
    # The evaluation conventions are those of the config's evaluators.
    evaluators = Config.fromfile(DEMO).test_evaluator
    assert [c['type'] for c in report['conventions']] == [
        e['type'] for e in evaluators]
    recog, calib = report['conventions']
    assert recog['threshold'] == evaluators[0]['threshold'] == 0.5
    assert (calib['mode'], calib['n_bins']) == (
        evaluators[1]['mode'], evaluators[1]['n_bins'])
    stem = only(test_dir, 'epoch_2_test_CCR-*_results.json', name=True)[
        :-len('_results.json')]
    assert sorted(p.name for p in plots.iterdir()) == sorted(
        f'{stem}_reliability_{g}.png' for g in ('all', 'base', 'new'))

    # Two calibrator choices on the same checkpoint and work dir keep
    # separate results, each naming what was applied.
    reports = {}
    for name in ('dac', 'tempscale'):
        run_tool([
            sys.executable, 'tools/test.py', DEMO, ckpt, '--work-dir',
            str(test_dir), '--calibrators', name, '--cfg-options', *opts
        ])
        applied = Config.fromfile(osp.join(
            REPO, 'configs', '_base_', 'calibrators',
            f'{name}.py')).calibrators
        reports[name] = json.loads(only(
            test_dir, f'epoch_2_test_{applied[0]["type"]}-*_results.json'))
        assert reports[name]['calibrators'] == [dict(c) for c in applied]
        assert reports[name]['checkpoint_sha256'] == report[
            'checkpoint_sha256']
    assert len(list(test_dir.glob('epoch_2_test_*_results.json'))) == 3
    # Temperature scaling was applied: one T > 0 keeps every ranking (mAP)
    # and changes the confidences (ECE).
    tempscale = reports['tempscale']['metrics']
    assert tempscale['recog/mAP_all'] == pytest.approx(
        metrics['recog/mAP_all'], abs=1e-9)
    assert tempscale['calib/ECE_all'] != pytest.approx(
        metrics['calib/ECE_all'], abs=1e-6)
    assert reports['dac']['config_sha256'] != reports['tempscale'][
        'config_sha256'] != report['config_sha256']

    # A checkpoint of another configuration is refused before testing.
    proc = subprocess.run([
        sys.executable, 'tools/test.py', DEMO, ckpt, '--work-dir',
        str(tmp_path / 'test_other'), '--cfg-options',
        'model.learner.n_ctx=8', *opts
    ], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert 'does not fit the model' in proc.stderr
    assert 'learner.ctx' in proc.stderr

    dist_out = tmp_path / 'dist_metrics.json'
    run_tool([
        'bash', 'tools/dist_test.sh', DEMO, ckpt, '2', '--work-dir',
        str(tmp_path / 'dist_test'), '--out', str(dist_out),
        '--cfg-options', *opts
    ], PORT=str(free_port()), OMP_NUM_THREADS='1')
    dist_metrics = json.loads(dist_out.read_text())
    assert dist_metrics.keys() == metrics.keys()
    for key, value in metrics.items():
        assert dist_metrics[key] == pytest.approx(value, abs=1e-6), key


def test_tools_test_zero_shot_without_checkpoint(tmp_path):
    """A config without trainable parameters is tested without a
    checkpoint; one with them is refused when none is given."""
    out = tmp_path / 'metrics.json'
    run_tool([
        sys.executable, 'tools/test.py', ZERO_SHOT, '--work-dir',
        str(tmp_path), '--out', str(out), '--cfg-options',
        'test_dataloader.dataset.num_images=64'
    ])
    report = json.loads(
        (tmp_path / 'test_uncalibrated_results.json').read_text())
    assert report['checkpoint'] is None
    assert report['checkpoint_sha256'] is None
    assert report['metrics'] == json.loads(out.read_text())
    # All 28 toy-world classes evaluated, 14 of them base.
    assert len(report['classes']) == 28
    assert len(report['groups']['base']) == 14
    assert 0.0 <= report['metrics']['recog/mAP_all'] <= 1.0

    proc = subprocess.run([
        sys.executable, 'tools/test.py', DEMO, '--work-dir',
        str(tmp_path / 'refused')
    ], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0
    assert 'has trainable parameters (learner.ctx)' in proc.stderr
    assert 'no checkpoint was given' in proc.stderr


def test_dist_train_two_processes_gloo(tmp_path):
    """tools/dist_train.sh with 2 CPU processes trains, validates, resumes."""
    work = tmp_path / 'dist'
    env = dict(PORT=str(free_port()), OMP_NUM_THREADS='1')
    opts = [*small_options(work), 'train_cfg.val_interval=1']
    run_tool(['bash', 'tools/dist_train.sh', DEMO, '2', '--work-dir',
              str(work), '--cfg-options', 'train_cfg.max_epochs=1', *opts],
             **env)
    proc = run_tool([
        'bash', 'tools/dist_train.sh', DEMO, '2', '--work-dir',
        str(work), '--resume', '--cfg-options', 'train_cfg.max_epochs=2',
        *opts
    ], **env)
    log = proc.stdout + proc.stderr
    assert 'Distributed training is not used' not in log
    assert 'resumed epoch: 1' in log
    assert (work / 'epoch_2.pth').is_file()
    # Validation ran (its one-line metrics are in the log file; the
    # terminal shows the table).
    assert 'Epoch(val) [2][' in log_files(work)
    assert train_losses(work)
