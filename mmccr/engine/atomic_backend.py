"""Atomic writes for every local file mmengine saves (checkpoints too)."""
from mmengine.fileio import LocalBackend, register_backend

from mmccr.utils.io import atomic_write_bytes


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose ``put`` writes a temporary file and renames it.

    An interrupted save leaves the previous checkpoint intact instead of a
    truncated file.
    """

    def put(self, obj: bytes, filepath) -> None:
        """Write ``obj`` to ``filepath`` atomically."""
        atomic_write_bytes(filepath, obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically."""
        atomic_write_bytes(filepath, obj.encode(encoding))


register_backend('local', AtomicLocalBackend, force=True, prefixes='')
