"""Exact resume of random augmentation."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from mmccr.registry import HOOKS


def get_random_state() -> dict:
    """Python, numpy and torch CPU generator states, in plain types."""
    np_state = np.random.get_state()
    return dict(
        python=random.getstate(),
        numpy=[np_state[0], np_state[1].tolist(), *np_state[2:]],
        torch=torch.get_rng_state())


def set_random_state(state: dict) -> None:
    """Restore a state from :func:`get_random_state`."""
    version, internal, gauss = state['python']
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state['numpy']
    np.random.set_state(
        (name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state['torch'])


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Keep the training random streams independent of validation.

    At the end of each training epoch the generator states are recorded;
    validation may consume random numbers, so they are restored after it,
    and saved in the checkpoint. A resumed run restores them too, so the
    main process's random draws match an uninterrupted run. Augmentation
    itself is seeded per sample from (seed, epoch, index) by
    :class:`~mmccr.datasets.seeding.SeededSampler`, so it is exact with
    worker processes too.
    """

    priority = 'HIGH'

    def __init__(self) -> None:
        self._state = None

    def after_train_epoch(self, runner) -> None:
        """Record the states at the epoch boundary."""
        self._state = get_random_state()

    def after_val_epoch(self, runner, metrics=None) -> None:
        """Undo what validation drew."""
        if self._state is not None:
            set_random_state(self._state)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Save the recorded states."""
        if self._state is not None:
            checkpoint['random_state'] = self._state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the states of a resumed checkpoint."""
        if runner._resume and 'random_state' in checkpoint:
            self._state = checkpoint['random_state']
            set_random_state(self._state)
