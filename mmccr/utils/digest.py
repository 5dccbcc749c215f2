"""SHA-256 digests that identify what a run used: files and configs."""
import hashlib
import json
from typing import Any, Mapping

import torch

#: Config keys that say where a run reads and writes, not what it computes.
LOCATION_KEYS = ('work_dir', 'load_from', 'resume', 'launcher',
                 'experiment_name')


def file_sha256(path: str) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def plain(obj: Any) -> Any:
    """Configs (and anything else) as JSON data; other objects as ``str``."""
    return json.loads(json.dumps(obj, default=str))


def data_sha256(obj: Any) -> str:
    """SHA-256 (hex) of JSON data, independent of key order."""
    text = json.dumps(plain(obj), sort_keys=True, allow_nan=True)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def config_sha256(cfg: Mapping) -> str:
    """SHA-256 of a config without its :data:`LOCATION_KEYS`.

    Two runs of the same config (after ``--cfg-options``) with other work
    directories or checkpoints have the same digest.

    Args:
        cfg (Mapping): a ``Config`` (or dict) as the run used it.
    """
    data = cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)
    return data_sha256(
        {k: v for k, v in data.items() if k not in LOCATION_KEYS})


def tensors_sha256(tensors: Mapping[str, Any]) -> str:
    """SHA-256 of named tensors: names, dtypes, shapes and values.

    Identifies the weights of a (frozen) module, e.g.
    ``tensors_sha256(module.state_dict())``.
    """
    digest = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        digest.update(f'{name}|{tensor.dtype}|{tuple(tensor.shape)}|'.encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()
