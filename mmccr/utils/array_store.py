"""A folder of named arrays on disk: written atomically, checked when read.

Used for caches of frozen features (image features of a dataset, text
features of a vocabulary): each array is one ``.npy`` file, read back
memory-mapped, and ``meta.json`` records what the arrays were computed
from (the key), their shapes, dtypes, sizes and SHA-256 digests. The
folder is filled under a temporary name and renamed when complete, so a
reader sees either no store or a whole one; a file that was truncated or
changed afterwards is detected by its size or digest.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .digest import data_sha256, file_sha256
from .io import atomic_write_json, fsync_dir

META = 'meta.json'

#: Version of the folder layout, part of every key.
FORMAT = 1


def cache_root() -> str:
    """mmccr's cache folder: ``$MMCCR_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/mmccr`` (``~/.cache/mmccr``)."""
    return os.environ.get('MMCCR_CACHE_DIR') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'),
        'mmccr')


def store_folder(root: str, prefix: str, key: Dict[str, Any]) -> str:
    """The folder of the store for ``key``: ``<root>/<prefix>-<digest>``.

    The digest (16 hex digits of the key's SHA-256) changes with any key
    field, so a changed input never reads a stale store.
    """
    digest = data_sha256(dict(key, format=FORMAT))[:16]
    return osp.join(root, f'{prefix}-{digest}')


def new_store(folder: str) -> str:
    """A fresh temporary folder beside ``folder`` to fill with arrays."""
    parent = osp.dirname(osp.abspath(folder))
    os.makedirs(parent, exist_ok=True)
    return tempfile.mkdtemp(dir=parent,
                            prefix=f'.tmp-{osp.basename(folder)}-')


def commit_store(tmp: str, folder: str, key: Dict[str, Any],
                 info: Optional[Dict[str, Any]] = None) -> None:
    """Describe the ``.npy`` files of ``tmp`` and make it ``folder``.

    Every ``<name>.npy`` in ``tmp`` is recorded in ``meta.json`` with its
    shape, dtype, size and SHA-256; an existing ``folder`` (stale or
    corrupt) is replaced.

    Args:
        tmp (str): a folder from :func:`new_store`, holding the arrays.
        folder (str): the final folder (:func:`store_folder`).
        key (dict): what the arrays were computed from (JSON data).
        info (dict, optional): further facts for people (build time, ...).
    """
    arrays = {}
    for name in sorted(os.listdir(tmp)):
        if not name.endswith('.npy'):
            continue
        path = osp.join(tmp, name)
        with open(path, 'rb') as f:
            os.fsync(f.fileno())
        array = np.load(path, mmap_mode='r')
        arrays[name[:-4]] = dict(shape=list(array.shape),
                                 dtype=str(array.dtype),
                                 bytes=osp.getsize(path),
                                 sha256=file_sha256(path))
        del array
    atomic_write_json(osp.join(tmp, META),
                      dict(format=FORMAT, key=key, arrays=arrays,
                           info=info or {}))
    if osp.isdir(folder):
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    fsync_dir(osp.dirname(osp.abspath(folder)))


def open_store(folder: str, key: Dict[str, Any]
               ) -> Tuple[Optional[Dict[str, np.ndarray]], Optional[str]]:
    """Open the arrays of ``folder`` memory-mapped, after checking them.

    Returns:
        tuple: ``(arrays, None)`` for a complete store of ``key``;
        ``(None, None)`` when there is none; ``(None, problem)`` when one
        exists but is unusable (``problem`` says why: another key, a
        missing, truncated or changed file).
    """
    meta_path = osp.join(folder, META)
    if not osp.isfile(meta_path):
        return None, None
    try:
        with open(meta_path, encoding='utf-8') as f:
            meta = json.load(f)
    except (OSError, ValueError) as err:
        return None, f'{meta_path} is unreadable ({err})'
    if meta.get('format') != FORMAT or meta.get('key') != key:
        return None, f'{meta_path} was written for another key'
    arrays = {}
    for name, spec in meta['arrays'].items():
        path = osp.join(folder, f'{name}.npy')
        if not osp.isfile(path):
            return None, f'{path} is missing'
        size = osp.getsize(path)
        if size != spec['bytes']:
            return None, (f'{path} is truncated or overwritten ({size} bytes,'
                          f' {spec["bytes"]} expected)')
        if file_sha256(path) != spec['sha256']:
            return None, f'{path} is corrupt (its SHA-256 changed)'
        try:
            arrays[name] = np.load(path, mmap_mode='r')
        except ValueError as err:
            return None, f'{path} is not a readable .npy file ({err})'
    return arrays, None


def store_bytes(arrays: Dict[str, np.ndarray]) -> int:
    """Total size of the arrays, in bytes."""
    return sum(int(a.nbytes) for a in arrays.values())
