"""Local checkpoint loading with errors that say what is wrong with the file.

Registered as mmengine's loader for local paths, so ``load_from``,
``resume`` and ``tools/test.py`` all go through :func:`load_checkpoint_file`.
"""
import os.path as osp
import pickle
import zipfile
from typing import Any, Optional

import torch
from mmengine.runner import CheckpointLoader

_ZIP_MAGIC = b'PK\x03\x04'


class CheckpointLoadError(RuntimeError):
    """A checkpoint file that cannot be read (the message says why)."""


def diagnose(path: str) -> str:
    """Why a file that failed to load is not a readable checkpoint."""
    size = osp.getsize(path)
    if size == 0:
        return 'it is empty (0 bytes)'
    with open(path, 'rb') as f:
        head = f.read(4)
    if head == _ZIP_MAGIC and not zipfile.is_zipfile(path):
        return (f'it is truncated ({size} bytes; the zip archive has no end '
                'record): its write was cut short, e.g. by a full disk or a '
                'killed process')
    if head != _ZIP_MAGIC:
        return (f'it is not an mmccr checkpoint (a PyTorch zip archive); it '
                f'starts with {head!r}')
    return 'it is damaged (a zip archive PyTorch cannot read)'


def load_checkpoint_file(filename: str,
                         map_location: Optional[Any] = 'cpu') -> dict:
    """``torch.load(weights_only=True)`` with a useful error.

    Args:
        filename (str): local checkpoint path (``~`` is expanded).
        map_location: as for :func:`torch.load`. Defaults to ``'cpu'``.

    Returns:
        dict: the checkpoint.

    Raises:
        FileNotFoundError: no such file.
        CheckpointLoadError: the file is empty, truncated, not a PyTorch
            archive, or holds objects that need unsafe unpickling.
    """
    path = osp.expanduser(filename)
    if not osp.isfile(path):
        raise FileNotFoundError(f'Checkpoint {path} not found.')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError,
            ValueError) as exc:
        first_line = (str(exc).splitlines() or [repr(exc)])[0]
        if zipfile.is_zipfile(path) and isinstance(exc,
                                                   pickle.UnpicklingError):
            raise CheckpointLoadError(
                f'Checkpoint {path} is not an mmccr checkpoint: it holds '
                'Python objects that torch.load(weights_only=True) refuses '
                '(mmccr saves plain tensors and types only). If you trust '
                'the file, convert it to a state dict of tensors first. '
                f'(torch: {first_line})') from exc
        raise CheckpointLoadError(
            f'Checkpoint {path} cannot be loaded: {diagnose(path)}. Use an '
            'earlier checkpoint: mmccr writes checkpoints through a '
            'temporary file and a rename, so the previous ones stay whole. '
            f'(torch: {first_line})') from exc


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename: str, map_location=None) -> dict:
    """mmengine's local-path loader, with :func:`load_checkpoint_file`."""
    return load_checkpoint_file(filename, map_location)
