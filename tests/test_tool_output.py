"""What the tools and runs tell a person: warnings, tables, progress, logs.

Tool runs use the offline shapes demo (tiny random CLIP) with a few images
and epochs; each one checks the output a person sees (stdout) against the
log file that keeps everything.
"""
import glob
import json
import logging
import os
import os.path as osp
import pty
import re
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator, List

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from mmccr.calibrators.temperature import T_RANGE, fit_temperature
from mmccr.engine.hooks.evaluation_report_hook import calibrator_label
from mmccr.utils.digest import config_sha256


@contextmanager
def captured_warnings() -> Iterator[List[str]]:
    """Messages logged at WARNING on mmengine's current logger."""
    logger = MMLogger.get_instance('test_tool_output')  # becomes current
    messages: List[str] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: messages.append(record.getMessage())
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def test_temperature_at_its_clip_bound_warns():
    """A temperature clipped to T_RANGE is reported; a finite one is not.

    Logits +1 and -1 both labelled 1 carry no information: the NLL falls
    as T grows, so the fit runs into the upper bound. Logits 4 x the true
    ones have their optimum near T = 4, well inside the range.
    """
    with captured_warnings() as messages:
        t = fit_temperature(torch.tensor([[1.0, -1.0]]),
                            torch.tensor([[1, 1]]))
    assert t.item() == T_RANGE[1]
    assert len(messages) == 1
    assert 'clip bound' in messages[0] and 'fit_dataloader' in messages[0]

    gen = torch.Generator().manual_seed(0)
    s = 2 * torch.randn(2000, 3, generator=gen, dtype=torch.float64)
    labels = (torch.rand(2000, 3, generator=gen, dtype=torch.float64)
              < torch.sigmoid(s)).long()
    with captured_warnings() as messages:
        t = fit_temperature(4 * s, labels)
    assert 3 < t.item() < 5 and messages == []

    # Per class: only the uninformative column (2) is named.
    logits = torch.cat([4 * s[:, :2], torch.where(
        torch.arange(2000)[:, None] % 2 == 0, 1.0, -1.0).double()], 1)
    labels[:, 2] = 1
    with captured_warnings() as messages:
        t = fit_temperature(logits, labels, per_class=True)
    assert t[2].item() == T_RANGE[1] and 3 < t[0].item() < 5
    assert len(messages) == 1 and 'columns [2]' in messages[0]


REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY = osp.join(REPO, 'configs', 'demo', 'coop_bce_shapes_tiny.py')
DEPRECATIONS = ('"FileClient" will be deprecated',
                '"HardDiskBackend" is the alias')


def train_command(work_dir, *extra: str) -> List[str]:
    """tools/train.py on the tiny shapes config: 1 epoch, 2 iterations."""
    return [
        sys.executable, 'tools/train.py', TINY, '--work-dir',
        str(work_dir), *extra, '--cfg-options', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1', 'train_dataloader.dataset.num_images=32',
        'train_dataloader.dataset.num_shots=2',
        f'train_dataloader.dataset.data_root={work_dir}/data',
        'train_dataloader.batch_size=4', 'val_dataloader.dataset.num_images=16'
    ]


def log_file(work_dir) -> str:
    """The text of the run's log file ``<timestamp>/<timestamp>.log``."""
    (path, ) = glob.glob(osp.join(str(work_dir), '*', '*.log'))
    with open(path, encoding='utf-8') as f:
        return f.read()


def cells(line: str, bar: str) -> List[str]:
    """The cells of a table line drawn with ``bar`` between cells."""
    return [cell.strip() for cell in line.strip().strip(bar).split(bar)]


def test_terminal_brief_log_file_complete(tmp_path):
    """The terminal shows a table of the metrics; the environment, the
    config and the one-line metrics are in the log file only; mmengine's
    FileClient deprecation notices appear in neither; without a terminal
    there is no progress bar."""
    proc = subprocess.run(train_command(tmp_path), cwd=REPO, text=True,
                          capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    shown, log = proc.stdout + proc.stderr, log_file(tmp_path)
    for file_only in ('System environment:', 'Config:',
                      'Hooks will be executed', 'Epoch(val) [1]['):
        assert file_only not in shown and file_only in log, file_only
    metrics = json.loads(
        (tmp_path / 'epoch_1_val_results.json').read_text())['metrics']
    # Every value, to the logger's 4 decimals, is in the log file.
    for key, value in metrics.items():
        assert f'{key}: {value:.4f}' in log, key
    # The table: a header of groups, a row per metric with values x 100.
    lines = shown.splitlines()
    header = next(line for line in lines if 'metric (×10⁻²)' in line)
    assert cells(header, '┃') == ['metric (×10⁻²)', 'all', 'base', 'new', 'HM',
                                  'Avg']
    row = next(line for line in lines if line.startswith('│ mAP '))
    assert cells(row, '│') == ['mAP'] + [
        f'{100 * metrics[f"recog/mAP_{g}"]:.2f}'
        for g in ('all', 'base', 'new', 'HM', 'Avg')
    ]
    for message in DEPRECATIONS:
        assert message not in shown and message not in log
    assert 'coop_bce_shapes_tiny train' not in shown  # no bar


def run_in_terminal(args: List[str]) -> str:
    """Output of ``args`` run with a pseudo-terminal as stdout and stderr,
    ANSI escapes removed."""
    master, slave = pty.openpty()
    env = dict(os.environ, TERM='xterm-256color', COLUMNS='120')
    proc = subprocess.Popen(args, cwd=REPO, stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert proc.wait(timeout=600) == 0, b''.join(chunks)[-3000:]
    text = b''.join(chunks).decode('utf-8', errors='replace')
    return re.sub(r'\x1b\[[0-9;?]*[A-Za-z]', '', text)


def test_progress_bar_on_a_terminal_unless_no_progress(tmp_path):
    """On a terminal tools/train.py shows the bars (2 training iterations
    at the end; the validation's while it runs) and the log lines;
    ``--no-progress`` leaves only the log lines."""
    shown = run_in_terminal(train_command(tmp_path / 'bar'))
    assert re.search(r'coop_bce_shapes_tiny train\s.*2/2', shown)
    assert re.search(r'coop_bce_shapes_tiny val\s.*/1', shown)
    assert 'Epoch(train) [1][2/2]' in shown and 'PIECE' in shown
    shown = run_in_terminal(train_command(tmp_path / 'plain', '--no-progress'))
    assert 'coop_bce_shapes_tiny train' not in shown
    assert 'Epoch(train) [1][2/2]' in shown and 'PIECE' in shown


def test_config_digest_ignores_locations_only():
    """Work dir, checkpoint, resume, launcher and experiment name do not
    change a config's digest; a setting, or the order of calibrators,
    does; key order does not."""
    cfg = Config.fromfile(TINY)
    digest = config_sha256(cfg)
    moved = Config.fromfile(TINY)
    moved.merge_from_dict(dict(work_dir='/elsewhere', load_from='x.pth',
                               resume=True, launcher='pytorch',
                               experiment_name='other'))
    assert config_sha256(moved) == digest
    assert config_sha256(dict(reversed(list(cfg.to_dict().items())))) == \
        digest
    changed = Config.fromfile(TINY)
    changed.merge_from_dict({'model.learner.n_ctx': 8})
    assert config_sha256(changed) != digest
    two = [dict(type='DAC'), dict(type='TemperatureScaling')]
    assert calibrator_label(two) != calibrator_label(two[::-1])
    assert calibrator_label(two).startswith('DAC+TemperatureScaling-')
    assert calibrator_label([]) == 'uncalibrated'
