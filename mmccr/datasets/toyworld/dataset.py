"""The toy world as an mmccr dataset."""
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple, Union

from mmccr.registry import DATASETS

from ..base import MultiLabelDataset
from .render import scene_image
from .world import (
    CLASS_NAMES,
    DEFAULT_NUM_IMAGES,
    WORLD_VERSION,
    check_split,
    labels_of,
    sample_labels,
)


@lru_cache(maxsize=8)
def _train_pool_counts(data_seed: int, num_images: int) -> Tuple[int, ...]:
    """Positives per class in the first ``num_images`` training images."""
    return tuple(
        sample_labels(data_seed, 'train', num_images).sum(0).tolist())


@DATASETS.register_module()
class ToyWorld(MultiLabelDataset):
    """Generated multi-label scenes of the toy world (28 classes).

    Images are drawn in memory (no file is read; ``ann_file`` is unused).
    Image ``i`` of a split is a pure function of ``(data_seed, split, i)``,
    so pools of different sizes agree on their shared images. The world is
    described in ``docs/toyworld.md`` and :mod:`.world`.

    Head/medium/tail groups follow the training-image counts of the
    training pool: by default the first ``train_pool_images`` images of the
    ``'train'`` split (this dataset itself for the ``'train'`` split).

    Args:
        split (str): ``'train'``, ``'val'``, ``'test'`` or ``'pretrain'``
            (disjoint random streams). Defaults to ``'train'``.
        num_images (int, optional): pool size; defaults to 5000 for
            ``'train'``, 1000 for ``'val'``, 2000 for ``'test'`` and 10000
            for ``'pretrain'``.
        image_size (int): side of the square images (at least 32).
            Defaults to 64.
        data_seed (int): seed of the world. Defaults to 0.
        train_pool_images (int, optional): size of the training pool whose
            counts define head/medium/tail when ``class_counts`` is not
            given. Defaults to ``num_images`` for the ``'train'`` split and
            to the default training pool (5000) otherwise.
        class_counts (str | Sequence[int], optional): explicit training
            counts, see :class:`MultiLabelDataset`. Defaults to None.
        **kwargs: see :class:`MultiLabelDataset`.
    """

    METAINFO = dict(classes=CLASS_NAMES)

    def __init__(self,
                 split: str = 'train',
                 num_images: Optional[int] = None,
                 image_size: int = 64,
                 data_seed: int = 0,
                 train_pool_images: Optional[int] = None,
                 class_counts: Optional[Union[str, Sequence[int]]] = None,
                 **kwargs) -> None:
        check_split(split)
        num_images = DEFAULT_NUM_IMAGES[split] if num_images is None \
            else num_images
        for name, value, low in (('num_images', num_images, 1),
                                 ('image_size', image_size, 32),
                                 ('data_seed', data_seed, 0)):
            if not isinstance(value, int) or value < low:
                raise ValueError(f'{name} must be an integer >= {low}, got '
                                 f'{value!r}')
        if train_pool_images is None:
            train_pool_images = num_images if split == 'train' else \
                DEFAULT_NUM_IMAGES['train']
        if class_counts is None:
            class_counts = list(
                _train_pool_counts(data_seed, train_pool_images))
        self.split = split
        self.num_images = num_images
        self.image_size = image_size
        self.data_seed = data_seed
        self.train_pool_images = train_pool_images
        super().__init__(class_counts=class_counts, **kwargs)

    def source_name(self) -> str:
        """The generated pool: world version, split, size and seed."""
        return (f'v{WORLD_VERSION}-{self.split}{self.num_images}'
                f'-seed{self.data_seed}')

    def load_annotations(self, ann_file: str) -> Tuple[List[str], List[dict]]:
        """Generate the images and their labels.

        Returns:
            tuple: the class names and one record per image with
            ``img_id``, ``img`` (uint8 ``(S, S, 3)``) and ``labels``.
        """
        records = []
        for i in range(self.num_images):
            img, objects = scene_image(self.data_seed, self.split, i,
                                       self.image_size)
            records.append(
                dict(
                    img_id=f'{self.split}_{i:05d}',
                    img=img,
                    labels=labels_of(objects)))
        return list(CLASS_NAMES), records

