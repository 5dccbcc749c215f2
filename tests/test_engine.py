"""Tests of the engine parts: schedule, hooks, atomic writes, registries."""
import math
import os
import random

import numpy as np
import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.logging import HistoryBuffer

import mmccr  # noqa: F401  (registers the atomic backend)
from mmccr.engine.hooks.random_state_hook import (
    get_random_state,
    set_random_state,
)
from mmccr.engine.hooks.safe_checkpoint_hook import from_plain, to_plain
from mmccr.engine.schedulers import ConstantWarmupCosineLR
from mmccr.registry import (
    CALIBRATORS,
    DATASETS,
    LOSSES,
    MODELS,
    PROMPT_LEARNERS,
)
from mmccr.utils.io import atomic_write_bytes


def test_warmup_cosine_follows_the_dassl_formula():
    """Epoch 0 at 1e-5, then 2e-3 * (1 + cos(pi e / 10)) / 2."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=2e-3)
    sched = ConstantWarmupCosineLR(opt, T_max=10)
    seen = []
    for _ in range(10):
        seen.append(opt.param_groups[0]['lr'])
        opt.step()
        sched.step()
    expected = [1e-5] + [
        2e-3 * (1 + math.cos(math.pi * e / 10)) / 2 for e in range(1, 10)
    ]
    assert seen == pytest.approx(expected, rel=1e-12)


def test_message_hub_state_round_trips_through_plain_types():
    """History buffers and numpy values become lists and come back."""
    buf = HistoryBuffer([1.5, 2.5], [1, 2], max_length=10)
    state = {'log_scalars': {'train/loss': buf},
             'runtime_info': {'epoch': np.int64(3), 'arr': np.arange(2)}}
    plain = to_plain(state)
    assert plain['runtime_info'] == {'epoch': 3, 'arr': [0, 1]}
    assert type(plain['runtime_info']['epoch']) is int
    back = from_plain(plain)['log_scalars']['train/loss']
    assert isinstance(back, HistoryBuffer)
    assert back.max_length == 10
    assert back.data[0].tolist() == [1.5, 2.5]
    assert back.data[1].tolist() == [1, 2]


def test_random_state_round_trip_reproduces_draws(tmp_path):
    """Restoring a saved state repeats python, numpy and torch draws."""
    state = get_random_state()
    # The state survives a weights-only save and load.
    torch.save(state, tmp_path / 'rng.pth')
    state = torch.load(tmp_path / 'rng.pth', weights_only=True)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    set_random_state(state)
    second = (random.random(), np.random.rand(), torch.rand(1).item())
    assert first == second


def test_atomic_backend_replaces_whole_file(tmp_path):
    """mmengine's local backend writes through a rename, leaving no temp."""
    path = tmp_path / 'ckpt.pth'
    backend = get_file_backend(str(path))
    assert type(backend).__name__ == 'AtomicLocalBackend'
    backend.put(b'old', str(path))
    backend.put(b'new', str(path))
    assert path.read_bytes() == b'new'
    assert os.listdir(tmp_path) == ['ckpt.pth']


def test_atomic_write_keeps_old_file_when_interrupted(tmp_path, monkeypatch):
    """A failure while writing leaves the previous content in place."""
    path = tmp_path / 'result.json'
    path.write_text('previous')

    def fail(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, 'replace', fail)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(path, b'partial')
    assert path.read_text() == 'previous'
    assert os.listdir(tmp_path) == ['result.json']


@pytest.mark.parametrize('registry,name', [
    (MODELS, 'PromptClassifier'),
    (PROMPT_LEARNERS, 'CoOp'),
    (LOSSES, 'BCELoss'),
    (LOSSES, 'RankingLoss'),
    (LOSSES, 'AsymmetricLoss'),
    (CALIBRATORS, 'CCR'),
    (DATASETS, 'CocoMultiLabel'),
])
def test_components_are_registered(registry, name):
    """Each component is found by name (lazy import through locations)."""
    assert registry.get(name) is not None


def test_unknown_type_is_a_clear_error():
    """Building an unregistered type names it."""
    with pytest.raises(KeyError, match='NoSuchLoss'):
        LOSSES.build(dict(type='NoSuchLoss'))


def test_warmup_cosine_spans_end_by_default():
    """Without T_max the cosine spans [begin, end) (mmengine: max_epochs)."""
    def lrs(**kwargs):
        param = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([param], lr=2e-3)
        sched = ConstantWarmupCosineLR(opt, **kwargs)
        seen = []
        for _ in range(6):
            seen.append(opt.param_groups[0]['lr'])
            opt.step()
            sched.step()
        return seen

    assert lrs(end=6) == lrs(T_max=6, end=6)
    assert lrs(end=6)[3] == pytest.approx(2e-3 * (1 + math.cos(math.pi / 2))
                                          / 2)


def test_atomic_write_uses_the_umask_mode(tmp_path):
    """Files are readable by others as with a plain open() (not 0600)."""
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / 'f.json', b'{}')
    finally:
        os.umask(old)
    assert (tmp_path / 'f.json').stat().st_mode & 0o777 == 0o644
