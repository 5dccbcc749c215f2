"""A plain list-file format anyone can write."""
import os.path as osp
from typing import List, Sequence, Tuple, Union

from mmccr.registry import DATASETS

from .base import MultiLabelDataset
from .files import parse_index_line, require_file, resolve


def read_class_names(source: Union[str, Sequence[str]]) -> List[str]:
    """Class names from a list or a text file.

    The file has one class per line, either ``name`` or ``name idx`` (the
    LMPT ``*_labels.txt`` form, where the last token is the index).
    """
    if not isinstance(source, str):
        return list(source)
    if not osp.isfile(source):
        raise FileNotFoundError(f'Class-name file {source!r} not found.')
    names = {}
    with open(source) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            head, _, tail = line.rpartition(' ')
            if head and tail.isdigit():
                names[int(tail)] = head
            else:
                names[len(names)] = line
    if sorted(names) != list(range(len(names))):
        raise ValueError(f'{source}: class indices must be 0..N-1 without '
                         f'gaps, got {sorted(names)}')
    return [names[i] for i in range(len(names))]


@DATASETS.register_module()
class MultiLabelListDataset(MultiLabelDataset):
    """Images listed one per line with their positive class indices.

    Each line of ``ann_file`` is ``relative/path.jpg idx idx ...`` (0-based
    indices, space separated; no index means an all-negative image). This is
    the format of LMPT's COCO-LT / VOC-LT lists.

    Args:
        classes (str | Sequence[str]): class names in index order, or a file
            with one name per line (``name`` or ``name idx``).
        **kwargs: see :class:`MultiLabelDataset`.
    """

    def __init__(self, classes: Union[str, Sequence[str]], **kwargs) -> None:
        self.classes_source = classes
        super().__init__(**kwargs)

    def load_annotations(self, ann_file: str) -> Tuple[List[str], List[dict]]:
        """Parse the list file."""
        source = self.classes_source
        if isinstance(source, str):
            source = resolve(self.data_root, source)
        classes = read_class_names(source)
        return classes, read_index_list(ann_file, len(classes))


def read_index_list(ann_file: str, num_classes: int) -> List[dict]:
    """Records of a ``path idx idx ...`` list file (ids are the paths).

    Backslashes in paths (lists written on Windows) become ``/``; a path
    listed twice is an error naming both lines.
    """
    require_file(ann_file, 'List file', 'See docs/datasets/list_file.md.')
    records, seen = [], {}
    with open(ann_file, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            path = parts[0].replace('\\', '/')
            if path in seen:
                raise ValueError(f'{ann_file}:{lineno}: image {path!r} is '
                                 f'already listed on line {seen[path]}.')
            seen[path] = lineno
            records.append(dict(
                img_id=path, img_path=path,
                labels=parse_index_line(parts[1:], num_classes, ann_file,
                                        lineno)))
    return records
