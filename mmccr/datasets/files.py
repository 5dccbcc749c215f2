"""Reading dataset files: id lists, name lists, pickles, missing images.

The dataset readers share these helpers so that every bad input gets the
same kind of message: the file, the line (or id) and what was expected.
"""
import importlib
import os.path as osp
import pickle
from typing import Dict, Iterable, List, Sequence, Tuple

import numpy as np
from mmengine.logging import print_log

#: What to do with listed images whose file is not on disk.
MISSING_IMAGES = ('drop', 'error', 'keep')


def resolve(data_root: str, path: str) -> str:
    """``path`` as is when absolute (or without a root), else under root."""
    if not path or osp.isabs(path) or not data_root:
        return path
    return osp.join(data_root, path)


def require_file(path: str, what: str, hint: str = '') -> str:
    """Return ``path``; raise ``FileNotFoundError`` naming it if absent.

    Args:
        path (str): the file.
        what (str): what the file is, e.g. ``'VOC image list'``.
        hint (str): how to get it (a sentence), appended to the message.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path!r} not found.' +
                                (f' {hint}' if hint else ''))
    return path


def numbered_lines(path: str, what: str,
                   hint: str = '') -> List[Tuple[int, str]]:
    """``(line number, stripped line)`` of the non-empty lines of a file."""
    require_file(path, what, hint)
    with open(path, encoding='utf-8') as f:
        return [(n, line.strip()) for n, line in enumerate(f, 1)
                if line.strip()]


def read_lines(path: str, what: str, hint: str = '') -> List[str]:
    """Non-empty lines of a text file, stripped (ids, names, paths).

    A repeated line is an error naming both line numbers.

    Args:
        path (str): the file.
        what (str): what the file is, for messages.
        hint (str): how to get the file, for the missing-file message.

    Returns:
        list[str]: the lines in file order.
    """
    lines = numbered_lines(path, what, hint)
    seen: Dict[str, int] = {}
    for lineno, line in lines:
        if line in seen:
            raise ValueError(
                f'{path}:{lineno}: {line!r} repeats line {seen[line]}; '
                f'each entry of a {what} must appear once.')
        seen[line] = lineno
    return [line for _, line in lines]


def name_indices(names: Iterable[str], classes: Sequence[str],
                 source: str) -> List[int]:
    """Indices of ``names`` in ``classes``, with an error naming unknowns.

    Args:
        names (Iterable[str]): class names to look up.
        classes (Sequence[str]): the dataset's canonical class names.
        source (str): where the names came from (a key or a file).
    """
    names = list(names)
    index = {c: i for i, c in enumerate(classes)}
    unknown = [n for n in names if n not in index]
    if unknown:
        raise ValueError(
            f'{source}: unknown class name(s) {unknown}; expected names of '
            f'this dataset: {list(classes)}.')
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f'{source}: class name(s) {repeated} appear more '
                         'than once.')
    return [index[n] for n in names]


def check_images(records: List[dict], image_dir: str, policy: str,
                 owner: str) -> List[dict]:
    """Count listed images that are not on disk; drop, fail or keep them.

    Args:
        records (list[dict]): image records with ``img_path`` relative to
            ``image_dir`` (records without ``img_path`` are kept).
        image_dir (str): the image folder.
        policy (str): ``'drop'`` (default of the readers: drop and report),
            ``'error'`` (raise, naming a few) or ``'keep'`` (do not check).
        owner (str): who is reading, for the messages.

    Returns:
        list[dict]: the records kept.
    """
    if policy not in MISSING_IMAGES:
        raise ValueError(f'missing_images must be one of {MISSING_IMAGES}, '
                         f'got {policy!r}')
    if policy == 'keep':
        return records
    present, missing = [], []
    for r in records:
        ok = 'img_path' not in r or osp.isfile(
            osp.join(image_dir, r['img_path']))
        (present if ok else missing).append(r)
    if not missing:
        return records
    message = (f'{owner}: {len(missing)} of {len(records)} listed images '
               f'are not under {image_dir!r} (e.g. '
               f"{[r['img_path'] for r in missing[:3]]})")
    if policy == 'error':
        raise FileNotFoundError(message + "; set missing_images='drop' to "
                                'train without them.')
    print_log(message + '; they are left out (missing_images=\'drop\').',
              logger='current', level=30)
    return present


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds only builtin containers and numpy arrays / scalars."""

    ALLOWED = {
        ('builtins', 'set'), ('builtins', 'frozenset'),
        ('__builtin__', 'set'), ('__builtin__', 'frozenset'),
        ('_codecs', 'encode'),  # bytes in Python 2 pickles
        ('numpy', 'ndarray'), ('numpy', 'dtype'),
        ('numpy.core.multiarray', '_reconstruct'),
        ('numpy.core.multiarray', 'scalar'),
        ('numpy._core.multiarray', '_reconstruct'),
        ('numpy._core.multiarray', 'scalar'),
    }

    def __init__(self, file, path: str) -> None:
        super().__init__(file, encoding='latin1')
        self.path = path

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f'{self.path}: refusing to load {module}.{name}; split '
                'pickles may hold only builtin containers and numpy arrays. '
                'Do not load this file.')
        if module == '__builtin__':
            module = 'builtins'
        elif module == 'numpy.core.multiarray' and hasattr(np, '_core'):
            module = 'numpy._core.multiarray'  # numpy 2 moved it
        return getattr(importlib.import_module(module), name)


def load_pickle(path: str, what: str, hint: str = ''):
    """Load a data pickle with the restricted unpickler.

    Only builtin containers, sets and numpy arrays are rebuilt; any other
    global (a function, a class) is refused with
    ``pickle.UnpicklingError``. Python 2 pickles (DBL's) are read with
    ``latin1`` strings.
    """
    require_file(path, what, hint)
    with open(path, 'rb') as f:
        try:
            return _RestrictedUnpickler(f, path).load()
        except (EOFError, pickle.UnpicklingError, ValueError) as err:
            if isinstance(err, pickle.UnpicklingError) and \
                    'refusing' in str(err):
                raise
            raise ValueError(f'{path} is not a readable {what}: {err}') \
                from err


def parse_index_line(tokens: Sequence[str], num_classes: int, path: str,
                     lineno: int) -> np.ndarray:
    """Labels ``(C,)`` of a ``path idx idx ...`` line's index tokens."""
    labels = np.zeros(num_classes, np.int8)
    for token in tokens:
        if not token.isdigit() or int(token) >= num_classes:
            raise ValueError(
                f'{path}:{lineno}: class index {token!r} is not an integer '
                f'in 0..{num_classes - 1}.')
        labels[int(token)] = 1
    return labels


def select_ids(records: List[dict], ids: Sequence[str], source: str,
               annotation: str) -> List[dict]:
    """The records of ``ids`` in id order; error on ids the file lacks."""
    by_id: Dict[str, dict] = {str(r['img_id']): r for r in records}
    unknown = [i for i in ids if str(i) not in by_id]
    if unknown:
        raise ValueError(
            f'{source} lists {len(unknown)} image id(s) that {annotation} '
            f'does not have (e.g. {unknown[:3]}); check that the split file '
            'belongs to this annotation file.')
    return [by_id[str(i)] for i in ids]
