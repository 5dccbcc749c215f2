"""Atomic file writes: a reader never sees a half-written file."""
import json
import os
import tempfile
from typing import Any, Union


def atomic_write_bytes(path: Union[str, os.PathLike], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-',
                               suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: Union[str, os.PathLike], obj: Any) -> None:
    """Dump ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_bytes(path, json.dumps(obj, indent=2).encode('utf-8'))
