"""A small multi-label dataset generated in memory (for demos and tests)."""
from typing import List, Tuple

import numpy as np

from mmccr.registry import DATASETS

from .base import MultiLabelDataset

_COLORS = {
    'red': (220, 40, 40),
    'green': (40, 180, 60),
    'blue': (50, 80, 220),
    'yellow': (230, 210, 40),
}
_SHAPES = ('square', 'circle', 'triangle')


def _draw(canvas: np.ndarray, shape: str, color, rng) -> None:
    size = canvas.shape[0]
    r = int(rng.integers(size // 8, size // 4))
    cy, cx = rng.integers(r, size - r, size=2)
    yy, xx = np.mgrid[:size, :size]
    if shape == 'square':
        mask = (abs(yy - cy) <= r) & (abs(xx - cx) <= r)
    elif shape == 'circle':
        mask = (yy - cy)**2 + (xx - cx)**2 <= r * r
    else:  # triangle pointing up
        mask = (yy <= cy + r) & (yy >= cy - r) & (
            abs(xx - cx) <= (yy - (cy - r)) / 2)
    canvas[mask] = color


@DATASETS.register_module()
class SyntheticShapes(MultiLabelDataset):
    """Coloured shapes on noise, generated from a seed.

    Classes are the 12 (colour, shape) pairs, e.g. ``'red circle'``; each
    image holds 1–3 objects. Nothing is read from disk, so ``ann_file`` is
    unused; ``split`` and ``data_seed`` pick a deterministic image set.

    Args:
        num_images (int): number of images. Defaults to 256.
        image_size (int): side of the square images. Defaults to 32.
        split (str): ``'train'`` or ``'test'`` (disjoint random streams).
        data_seed (int): seed of the generator. Defaults to 0.
        **kwargs: see :class:`MultiLabelDataset`.
    """

    METAINFO = dict(
        classes=tuple(f'{c} {s}' for c in _COLORS for s in _SHAPES))

    def __init__(self,
                 num_images: int = 256,
                 image_size: int = 32,
                 split: str = 'train',
                 data_seed: int = 0,
                 **kwargs) -> None:
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.num_images = num_images
        self.image_size = image_size
        self.split = split
        self.data_seed = data_seed
        super().__init__(**kwargs)

    def source_name(self) -> str:
        """The generated pool: split, size and generator seed."""
        return f'{self.split}{self.num_images}-seed{self.data_seed}'

    def load_annotations(self, ann_file: str) -> Tuple[List[str], List[dict]]:
        """Generate the images and their labels."""
        classes = list(self.METAINFO['classes'])
        stream = 0 if self.split == 'train' else 1
        rng = np.random.default_rng([self.data_seed, stream])
        records = []
        for i in range(self.num_images):
            img = rng.integers(0, 60, (self.image_size, self.image_size, 3),
                               dtype=np.uint8)
            labels = np.zeros(len(classes), np.int8)
            for cls in rng.choice(len(classes), rng.integers(1, 4),
                                  replace=False):
                color, shape = classes[cls].split(' ')
                _draw(img, shape, _COLORS[color], rng)
                labels[cls] = 1
            records.append(
                dict(img_id=f'{self.split}_{i:05d}', img=img, labels=labels))
        return classes, records
