"""What the dataset converters share: count checks and file placement."""
import os
import os.path as osp
import shutil
import tarfile
import zipfile
from typing import List, Sequence, Tuple

#: (what, found, expected)
Count = Tuple[str, int, int]


class CountMismatch(RuntimeError):
    """Raised when a prepared dataset does not have the documented counts."""


def check_counts(dataset: str, counts: Sequence[Count], guide: str) -> None:
    """Print each count; raise :class:`CountMismatch` listing mismatches.

    Args:
        dataset (str): the dataset's name, for messages.
        counts (Sequence[Count]): ``(what, found, expected)`` triples.
        guide (str): the guide that documents the counts.
    """
    wrong: List[str] = []
    for what, found, expected in counts:
        ok = found == expected
        print(f'  {"ok " if ok else "BAD"} {what}: {found:,}'
              + ('' if ok else f' (expected {expected:,})'))
        if not ok:
            wrong.append(f'{what}: found {found:,}, expected {expected:,}')
    if wrong:
        raise CountMismatch(
            f'{dataset} does not match the documented counts ('
            + '; '.join(wrong) + f'). Check the download against {guide}; '
            'a partial download or another release gives other numbers.')
    print(f'{dataset}: all counts as documented.')


def unpack(archive: str, dest: str) -> None:
    """Extract a .tar(.gz) or .zip archive into ``dest``."""
    os.makedirs(dest, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            z.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as t:
            t.extractall(dest, filter='data')
    else:
        raise ValueError(f'{archive} is neither a zip nor a tar archive.')


def place(src: str, dest: str, link: bool = False) -> None:
    """Copy (or symlink) a file or folder to ``dest`` unless it is there."""
    if osp.exists(dest):
        return
    os.makedirs(osp.dirname(osp.abspath(dest)), exist_ok=True)
    if link:
        os.symlink(osp.abspath(src), dest)
    elif osp.isdir(src):
        shutil.copytree(src, dest)
    else:
        shutil.copy2(src, dest)


def count_lines(path: str) -> int:
    """Non-empty lines of a text file."""
    with open(path, encoding='utf-8', errors='replace') as f:
        return sum(1 for line in f if line.strip())
