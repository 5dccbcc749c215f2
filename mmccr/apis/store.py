"""The results store of a grid: JSON lines, one record per finished run.

A record is appended (one ``write`` of one line, under an exclusive
``flock`` of ``<store>.lock``, then ``fsync``) when a run ends, with
``status`` ``'done'`` or ``'failed'``. The last record of a run id is its
state. A line that is not a complete JSON object (a truncated append, a
hand edit) is reported with its line number and skipped, never used.

Two grid processes on one store do not run the same run twice: a run is
executed only while its lock file ``<store dir>/locks/<run id>.lock`` is
held (``flock``, released by the kernel if the process dies), and the
store is read again once the lock is taken.
"""
import fcntl
import json
import os
import os.path as osp
import platform
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import Dict, Iterator, List, Optional, Sequence

from mmccr.utils.io import nan_to_none
from mmccr.version import __version__

#: Keys every record has.
RECORD_KEYS = ('run', 'status')


@dataclass
class StoreContent:
    """What :func:`read_store` found.

    Attributes:
        records (list[dict]): valid records in file order.
        problems (list[str]): ``'<store>:<line>: <why>'`` of skipped lines.
    """
    records: List[dict] = field(default_factory=list)
    problems: List[str] = field(default_factory=list)

    def latest(self) -> Dict[str, dict]:
        """The last record of each run id."""
        return {r['run']: r for r in self.records}


def read_store(path: str) -> StoreContent:
    """Read a store; corrupt lines are listed in ``problems``, not raised.

    A missing store is empty.
    """
    content = StoreContent()
    if not osp.isfile(path):
        return content
    with open(path, 'rb') as f:
        data = f.read()
    lines = data.split(b'\n')
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        truncated = number == len(lines)  # no newline after the last line
        try:
            record = json.loads(raw.decode('utf-8'))
        except (UnicodeDecodeError, ValueError) as e:
            why = 'truncated line (no newline; an interrupted write?)' \
                if truncated else f'not JSON ({e})'
            content.problems.append(f'{path}:{number}: {why}; skipped')
            continue
        if not isinstance(record, dict) or any(k not in record
                                               for k in RECORD_KEYS):
            content.problems.append(
                f'{path}:{number}: not a run record (needs keys '
                f'{", ".join(RECORD_KEYS)}); skipped')
            continue
        content.records.append(record)
    return content


def append_record(path: str, record: dict) -> None:
    """Append one record as one line, under the store's lock.

    NaN (an undefined metric) is written as ``null``. A previous line left
    without its newline (an interrupted write) is closed first, so it stays
    a single corrupt line.
    """
    line = json.dumps(nan_to_none(record), allow_nan=False) + '\n'
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path + '.lock', 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path, 'ab') as f:
                if f.tell() > 0:
                    with open(path, 'rb') as r:
                        r.seek(-1, os.SEEK_END)
                        if r.read(1) != b'\n':
                            f.write(b'\n')
                f.write(line.encode('utf-8'))
                f.flush()
                os.fsync(f.fileno())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def run_lock(store: str, run_id: str) -> Iterator[bool]:
    """Hold the lock of one run; yields False when another process holds
    it (then nothing must be done for the run).

    Args:
        store (str): the store path (locks go beside it, under
            ``locks/``).
        run_id (str): the run (``/`` become ``__`` in the file name).
    """
    path = osp.join(osp.dirname(osp.abspath(store)), 'locks',
                    run_id.replace('/', '__') + '.lock')
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'a') as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def versions() -> Dict[str, Optional[str]]:
    """Versions of Python and the packages a run depends on."""
    found: Dict[str, Optional[str]] = {
        'python': sys.version.split()[0], 'platform': platform.platform()}
    found['mmccr'] = __version__
    for package in ('torch', 'mmengine', 'open_clip_torch',
                    'numpy'):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def select_records(path: str, runs: Sequence[str] = (),
                   seed: Optional[int] = None) -> List[dict]:
    """Finished runs of a store: those named (in that order), or every
    finished run (of ``seed`` when given).

    Raises:
        ValueError: a named run is not in the store or did not finish.
    """
    latest = read_store(path).latest()
    if runs:
        missing = [r for r in runs if latest.get(r, {}).get('status')
                   != 'done']
        if missing:
            raise ValueError(f'{path}: no finished run {", ".join(missing)} '
                             '(run ids as tools/run_grid.py --list prints '
                             'them)')
        return [latest[r] for r in runs]
    return [r for r in latest.values() if r['status'] == 'done'
            and (seed is None or r['seed'] == seed)]


def record_name(record: dict) -> str:
    """A run's label in figures: its cell labels without the dataset, and
    the seed."""
    cell = [str(v) for k, v in record['cell'].items() if k != 'datasets']
    return '/'.join(cell + [f'seed{record["seed"]}'])
