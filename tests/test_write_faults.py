"""Faults during writes leave the previous files whole; bad checkpoints are
named with what is wrong with them."""
import errno
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from test_runner import demo_cfg

import mmccr.utils.io as io_module
from mmccr.engine import CheckpointLoadError, load_checkpoint_file
from mmccr.utils.io import atomic_write_bytes, atomic_write_json


class DiskFull:
    """Stands in for ``os`` inside :mod:`mmccr.utils.io`: every file it
    opens accepts half of the first write, then fails with ENOSPC."""

    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def fdopen(fd, mode):
        return HalfWriter(os.fdopen(fd, mode))


class HalfWriter:

    def __init__(self, f) -> None:
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.f.close()

    def write(self, data) -> None:
        self.f.write(data[:len(data) // 2])
        self.f.flush()
        raise OSError(errno.ENOSPC, 'No space left on device')


def visible_files(folder) -> list:
    return sorted(os.listdir(folder))


def test_failed_json_write_keeps_previous_file(tmp_path, monkeypatch):
    """Results JSON and split files (both atomic_write_json)."""
    path = tmp_path / 'results.json'
    atomic_write_json(path, {'mAP': 0.5})
    monkeypatch.setattr(io_module, 'os', DiskFull())
    with pytest.raises(OSError) as info:
        atomic_write_json(path, {'mAP': 0.75, 'per_class': list(range(99))})
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {'mAP': 0.5}
    assert visible_files(tmp_path) == ['results.json']  # no temp left


def test_failed_first_write_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(io_module, 'os', DiskFull())
    with pytest.raises(OSError):
        atomic_write_bytes(tmp_path / 'split.json', b'{"img_ids": [1, 2]}')
    monkeypatch.undo()
    assert visible_files(tmp_path) == []


KILLED_WRITER = '''
import os, sys, time
import mmccr.utils.io as io_module

class SlowOS:
    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def fsync(fd):
        print('writing', flush=True)
        time.sleep(60)

io_module.os = SlowOS()
io_module.atomic_write_bytes(sys.argv[1], b'new' * 100000)
'''


def test_killed_writer_keeps_previous_file(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    torch.save({'state_dict': {'w': torch.ones(3)}}, path)
    before = path.read_bytes()
    proc = subprocess.Popen([sys.executable, '-c', KILLED_WRITER,
                             str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == 'writing'
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert path.read_bytes() == before
    state = load_checkpoint_file(str(path))
    assert torch.equal(state['state_dict']['w'], torch.ones(3))
    # The cut-short temporary file is hidden and named after the target.
    leftovers = [f for f in visible_files(tmp_path) if f != 'epoch_1.pth']
    assert len(leftovers) == 1
    assert leftovers[0].startswith('.tmp-')
    assert leftovers[0].endswith('epoch_1.pth')


class FullDiskAt(Hook):
    """Makes every write fail from the save of epoch ``epoch`` on."""

    priority = 'LOWEST'

    def __init__(self, epoch: int, monkeypatch) -> None:
        self.epoch, self.monkeypatch = epoch, monkeypatch

    def before_save_checkpoint(self, runner, checkpoint) -> None:
        if runner.epoch + 1 == self.epoch:
            self.monkeypatch.setattr(io_module, 'os', DiskFull())


def test_checkpoint_save_fault_keeps_previous_and_resumes(
        tmp_path, monkeypatch):
    runner = Runner.from_cfg(demo_cfg(tmp_path, 'fault'))
    runner.register_hook(FullDiskAt(2, monkeypatch))
    with pytest.raises(OSError) as info:
        runner.train()
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert not (tmp_path / 'epoch_2.pth').exists()
    ckpt = tmp_path / 'epoch_1.pth'
    assert (tmp_path / 'last_checkpoint').read_text() == str(ckpt)
    state = load_checkpoint_file(str(ckpt))
    assert state['meta']['epoch'] == 1
    # A new run resumes from the intact epoch 1 and finishes.
    resumed = Runner.from_cfg(demo_cfg(tmp_path, 'fault2', resume=True))
    resumed.train()
    assert resumed.epoch == 4
    assert (tmp_path / 'epoch_4.pth').exists()


@pytest.fixture(scope='module')
def good_checkpoint(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp('ckpt') / 'epoch_1.pth'
    torch.save({'state_dict': {'learner.ctx': torch.randn(4, 8)},
                'meta': {'epoch': 1}}, path)
    return str(path)


def test_truncated_checkpoint_is_named_and_called_truncated(
        tmp_path, good_checkpoint):
    data = open(good_checkpoint, 'rb').read()
    path = tmp_path / 'epoch_2.pth'
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointLoadError) as info:
        load_checkpoint_file(str(path))
    msg = str(info.value)
    assert msg.startswith(f'Checkpoint {path} cannot be loaded: it is '
                          f'truncated ({len(data) // 2} bytes')
    assert 'full disk or a killed process' in msg


@pytest.mark.parametrize('content,words', [
    (b'', 'it is empty (0 bytes)'),
    (b'{"not": "a checkpoint"}', "it is not an mmccr checkpoint"),
])
def test_other_files_are_not_checkpoints(tmp_path, content, words):
    path = tmp_path / 'model.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointLoadError) as info:
        load_checkpoint_file(str(path))
    assert str(info.value).startswith(f'Checkpoint {path} cannot be loaded')
    assert words in str(info.value)


class Unsafe:
    pass


def test_pickled_objects_are_not_an_mmccr_checkpoint(tmp_path):
    path = tmp_path / 'pickled.pth'
    torch.save({'state_dict': {}, 'obj': Unsafe()}, path)
    with pytest.raises(CheckpointLoadError) as info:
        load_checkpoint_file(str(path))
    assert str(info.value).startswith(
        f'Checkpoint {path} is not an mmccr checkpoint: it holds Python '
        'objects')


def test_runner_load_goes_through_the_named_error(tmp_path,
                                                  good_checkpoint):
    data = open(good_checkpoint, 'rb').read()
    path = tmp_path / 'cut.pth'
    path.write_bytes(data[:100])
    runner = Runner.from_cfg(demo_cfg(tmp_path, 'load'))
    start = time.time()
    with pytest.raises(CheckpointLoadError, match='it is truncated'):
        runner.load_checkpoint(str(path))
    assert time.time() - start < 60
    assert osp.isfile(path)
