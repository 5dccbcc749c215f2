"""NUS-WIDE (81 concepts) from the official image lists and label files."""
import os.path as osp
from typing import List, Tuple

import numpy as np
from mmengine.logging import print_log

from mmccr.registry import DATASETS

from .base import MultiLabelDataset
from .files import read_lines, resolve

#: The 81 concepts, alphabetical (the order of ``Concepts81.txt``).
NUSWIDE_CLASSES = (
    'airport', 'animal', 'beach', 'bear', 'birds', 'boats', 'book', 'bridge',
    'buildings', 'cars', 'castle', 'cat', 'cityscape', 'clouds', 'computer',
    'coral', 'cow', 'dancing', 'dog', 'earthquake', 'elk', 'fire', 'fish',
    'flags', 'flowers', 'food', 'fox', 'frost', 'garden', 'glacier', 'grass',
    'harbor', 'horses', 'house', 'lake', 'leaf', 'map', 'military', 'moon',
    'mountain', 'nighttime', 'ocean', 'person', 'plane', 'plants', 'police',
    'protest', 'railroad', 'rainbow', 'reflection', 'road', 'rocks',
    'running', 'sand', 'sign', 'sky', 'snow', 'soccer', 'sports', 'statue',
    'street', 'sun', 'sunset', 'surf', 'swimmers', 'tattoo', 'temple',
    'tiger', 'tower', 'town', 'toy', 'train', 'tree', 'valley', 'vehicle',
    'water', 'waterfall', 'wedding', 'whales', 'window', 'zebra')

_HINT = 'Prepare NUS-WIDE as described in docs/datasets/nuswide.md.'


def normalise_path(line: str) -> str:
    r"""A list entry as a ``/`` path relative to the ``Flickr`` folder.

    ``C:\ImageData\Flickr\actor\0001_2124494179.jpg`` and
    ``actor\0001_2124494179.jpg`` both give ``actor/0001_2124494179.jpg``.
    """
    path = line.strip().replace('\\', '/')
    if 'Flickr/' in path:
        path = path.rsplit('Flickr/', 1)[1]
    return path.lstrip('/')


@DATASETS.register_module()
class NUSWIDE(MultiLabelDataset):
    """NUS-WIDE with the 81 human-annotated concepts.

    Images come from ``ImageList/{Train,Test}Imagelist.txt`` (Windows
    paths, normalised by :func:`normalise_path`), labels from
    ``Groundtruth/TrainTestLabels/Labels_<concept>_{Train,Test}.txt`` (one
    0/1 per line, in list order). Images missing from the archive are
    dropped and counted (``missing_images``).

    Args:
        split (str): ``'train'`` (161,789 listed images) or ``'test'``
            (107,859). Defaults to ``'train'``.
        label_dir (str): folder of the per-concept label files, relative to
            ``data_root``.
        empty_images (str): images without any of the 81 labels (about a
            fifth) are ``'keep'``-t as all-negative rows (default, as for
            COCO) or ``'drop'``-ped; the count is logged either way.
        **kwargs: see :class:`MultiLabelDataset`.
    """

    METAINFO = dict(classes=NUSWIDE_CLASSES)

    def __init__(self,
                 split: str = 'train',
                 label_dir: str = 'Groundtruth/TrainTestLabels',
                 empty_images: str = 'keep',
                 **kwargs) -> None:
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        if empty_images not in ('keep', 'drop'):
            raise ValueError("empty_images must be 'keep' or 'drop', got "
                             f'{empty_images!r}')
        self.split = split
        self.label_dir = label_dir
        self.empty_images = empty_images
        kwargs.setdefault('ann_file',
                          f'ImageList/{split.capitalize()}Imagelist.txt')
        kwargs.setdefault('data_prefix', dict(img_path='Flickr'))
        super().__init__(**kwargs)

    def load_annotations(self, ann_file: str) -> Tuple[List[str], List[dict]]:
        """Read an image list and the 81 label files of its split."""
        stem = osp.basename(ann_file)
        part = next((p for p in ('Train', 'Test') if stem.startswith(p)),
                    None)
        if part is None:
            raise ValueError(f'{ann_file}: expected TrainImagelist.txt or '
                             'TestImagelist.txt (the name says which label '
                             'files belong to it).')
        paths = [normalise_path(p) for p in
                 read_lines(ann_file, 'NUS-WIDE image list', _HINT)]
        folder = resolve(self.data_root, self.label_dir)
        labels = np.stack([
            self._read_labels(
                osp.join(folder, f'Labels_{c}_{part}.txt'), len(paths))
            for c in NUSWIDE_CLASSES
        ], axis=1)  # (N, 81)
        records = [dict(img_id=p, img_path=p, labels=lab)
                   for p, lab in zip(paths, labels, strict=True)]
        empty = int((labels.sum(1) == 0).sum())
        if self.empty_images == 'drop':
            records = [r for r in records if r['labels'].any()]
        print_log(f'NUSWIDE ({stem}): {empty} of {len(paths)} images have '
                  f'none of the 81 labels ({self.empty_images}).',
                  logger='current')
        return list(NUSWIDE_CLASSES), records

    @staticmethod
    def _read_labels(path: str, num_images: int) -> np.ndarray:
        """One concept's 0/1 column ``(N,)``."""
        if not osp.isfile(path):
            raise FileNotFoundError(f'NUS-WIDE label file {path!r} not '
                                    f'found. {_HINT}')
        with open(path) as f:
            values = [v.strip() for v in f.read().splitlines()]
        while values and not values[-1]:
            values.pop()
        bad = next((i for i, v in enumerate(values) if v not in ('0', '1')),
                   None)
        if bad is not None:
            raise ValueError(f'{path}:{bad + 1}: expected 0 or 1, got '
                             f'{values[bad]!r}.')
        if len(values) != num_images:
            raise ValueError(
                f'{path} has {len(values)} lines but the image list has '
                f'{num_images} images; the label files and the list must '
                'come from the same release.')
        return (np.asarray(values) == '1').astype(np.int8)
