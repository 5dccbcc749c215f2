"""Images generated from captions (T2I-PAL's training data).

T2I-PAL trains on images a text-to-image model made from captions, with
the captions' labels; no real training image is used.

* :class:`GeneratedImageCaptions` reads a folder made with any generator:
  ``captions.txt`` lists ``image file<TAB>caption[<TAB>name,name]`` and the
  images lie under ``data_prefix['img_path']`` (docs/methods/t2i_pal.md
  says how to make it).
* :class:`ToyWorldGenerated`: in the toy world the renderer *is* a
  text-to-image generator: the objects a caption names are drawn in a new
  scene (another layout, background and clutter than the scene the caption
  was written for).
"""
from typing import List

import numpy as np

from mmccr.registry import DATASETS

from .captions import CaptionDataset, ToyWorldCaptions
from .files import numbered_lines
from .toyworld.render import render
from .toyworld.world import WORLD_VERSION, check_split

#: Stream id of generated toy images (apart from scenes and captions).
_GENERATED_STREAM = 7


@DATASETS.register_module()
class GeneratedImageCaptions(CaptionDataset):
    """Generated images with the captions they were made from.

    Items have ``img_path`` and ``text``; labels come from the caption
    (matcher or file labels, see :class:`CaptionDataset`). Use the image
    pipeline (``LoadImage`` … ``PackInputs``).

    Args:
        ann_file (str): the list, ``image<TAB>caption[<TAB>names]`` a line.
        **kwargs: see :class:`CaptionDataset` (``classes='coco'`` for COCO).
    """

    def read_captions(self, ann_file: str, classes: List[str]) -> List[dict]:
        """One dict per generated image: ``img_path``, ``text``, labels."""
        records = []
        hint = ('Make it with any text-to-image model from training '
                'captions (docs/methods/t2i_pal.md); testing also needs the '
                'real evaluation images.')
        for lineno, line in numbered_lines(ann_file, 'generated-image list',
                                           hint):
            image, tab, rest = line.partition('\t')
            if not tab or not rest.strip():
                raise ValueError(
                    f'{ann_file}:{lineno}: expected `image file<TAB>caption'
                    f'[<TAB>name,name]`, got {line!r}.')
            records.append(dict(
                img_id=image, img_path=image,
                **self.parse_line(rest, lineno, ann_file, classes)))
        return records


@DATASETS.register_module()
class ToyWorldGenerated(ToyWorldCaptions):
    """Toy-world images generated from the training captions.

    Caption ``i`` (see :class:`ToyWorldCaptions`) is "generated": the
    classes its words name are rendered into a new scene drawn from its
    own random stream. Items have ``img`` (uint8 ``(S, S, 3)``) and
    ``text``.

    Args:
        image_size (int): side of the generated images. Defaults to 64.
        **kwargs: see :class:`ToyWorldCaptions`.
    """

    def __init__(self, image_size: int = 64, **kwargs) -> None:
        self.image_size = image_size
        super().__init__(**kwargs)

    def source_name(self) -> str:
        """Names the generated pool in split file names."""
        return 'generated-' + super().source_name()

    def load_annotations(self, ann_file: str):
        """Captions and labels, then one rendered image per caption."""
        classes, records = super().load_annotations(ann_file)
        split = check_split(self.split)
        for record in records:
            rng = np.random.default_rng([
                WORLD_VERSION, self.data_seed, split, record['scene'],
                _GENERATED_STREAM
            ])
            objects = np.flatnonzero(record['labels'] == 1).tolist()
            record['img'] = render(objects, rng, self.image_size)
        return classes, records
