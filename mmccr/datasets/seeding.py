"""Per-sample random streams: augmentation depends on (seed, epoch, index).

mmengine seeds each data-loading worker once, from (seed, rank, worker id);
with ``persistent_workers`` a worker's stream then runs on across epochs,
so a run resumed at epoch ``e`` draws other augmentations than the
uninterrupted run, and the draws change with ``num_workers``.
:class:`SeededSampler` instead hands the dataset a :class:`SampleIndex`
that carries the sampler's seed and epoch, and the dataset runs the
pipeline of that sample inside :func:`seeded_random_state`: Python's,
numpy's and torch's CPU generators seeded from ``(seed, epoch, index)``
and restored afterwards. The augmentation of a sample is then the same in
any process, with any number of workers, before and after a resume.
"""
import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch
from mmengine.dataset import DefaultSampler

from mmccr.registry import DATA_SAMPLERS


class SampleIndex(int):
    """A dataset index that also carries the sampler's seed and epoch.

    It is an ``int``, so datasets that do not know it index as usual.
    """

    seed: int
    epoch: int

    def __new__(cls, index: int, seed: int, epoch: int) -> 'SampleIndex':
        obj = super().__new__(cls, index)
        obj.seed, obj.epoch = int(seed), int(epoch)
        return obj

    def __getnewargs__(self):  # pickled to worker processes
        return int(self), self.seed, self.epoch

    def __repr__(self) -> str:
        return f'SampleIndex({int(self)}, seed={self.seed}, ' \
            f'epoch={self.epoch})'


@contextmanager
def seeded_random_state(seed: int, epoch: int, index: int) -> Iterator[None]:
    """Seed Python, numpy and torch (CPU) from ``(seed, epoch, index)``.

    The previous states are restored on exit, so the caller's streams are
    not disturbed (CUDA generators are not touched).
    """
    words = np.random.SeedSequence([seed, epoch, index]).generate_state(4)
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        random.seed(int(words[0]))
        np.random.seed(words[1:3])
        torch.manual_seed(int(words[3]))
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


@DATA_SAMPLERS.register_module()
class SeededSampler(DefaultSampler):
    """``DefaultSampler`` whose indices carry its seed and the epoch.

    Same order as ``DefaultSampler`` (shuffled from ``seed + epoch``);
    mmccr datasets seed each sample's augmentation from the index (see the
    module docstring), which makes resumed runs exact with worker
    processes. Arguments as for ``DefaultSampler``.
    """

    def __iter__(self) -> Iterator[SampleIndex]:
        for index in super().__iter__():
            yield SampleIndex(index, self.seed, self.epoch)
