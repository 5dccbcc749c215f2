"""Atomic file writes: a reader never sees a half-written file."""
import json
import math
import os
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator, Union


@contextmanager
def atomic_file(path: Union[str, os.PathLike]) -> Iterator[str]:
    """A temporary path beside ``path`` that becomes ``path`` on success.

    The caller writes the temporary file (by name: ``np.save``, a memory
    map, ...); when the block ends without an error the file is synced,
    given the usual umask-based mode and renamed to ``path``, and the
    folder is synced, so the new file survives a crash of the machine too.
    A write that fails part-way (a full disk, a killed process) leaves the
    previous ``path`` untouched; the temporary file is removed unless the
    process was killed (it is then a hidden ``.tmp-*`` file beside
    ``path``).

    Yields:
        str: the temporary path to write.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp-',
                               suffix=os.path.basename(path))
    os.close(fd)
    try:
        yield tmp
        with open(tmp, 'rb+') as f:
            os.fsync(f.fileno())
        # mkstemp creates 0600 files; give the usual umask-based mode.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
        fsync_dir(folder)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Union[str, os.PathLike], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_file`)."""
    with atomic_file(path) as tmp, os.fdopen(
            os.open(tmp, os.O_WRONLY | os.O_TRUNC), 'wb') as f:
        f.write(data)


def fsync_dir(folder: str) -> None:
    """Persist a rename in ``folder`` (no-op where folders cannot be opened).
    """
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems do not sync folders
    finally:
        os.close(fd)


def nan_to_none(obj: Any) -> Any:
    """``obj`` with every float NaN (in dicts and lists) as None."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [nan_to_none(v) for v in obj]
    return obj


def atomic_write_json(path: Union[str, os.PathLike], obj: Any) -> None:
    """Dump ``obj`` as indented, strict JSON to ``path`` atomically.

    NaN (an undefined metric) is written as ``null``.
    """
    text = json.dumps(nan_to_none(obj), indent=2, allow_nan=False)
    atomic_write_bytes(path, text.encode('utf-8'))
