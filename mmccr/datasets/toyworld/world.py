"""The toy world's vocabulary and scene model.

Twenty-eight classes, each a (colour, shape) pair with an English name
such as ``'red ball'``: seven colours times four shapes. Names share words,
so text similarities between them are structured (``'red ball'`` is closer
to ``'red ring'`` and ``'blue ball'`` than to ``'green star'``).

Canonical order: the 14 base classes come first (the first ⌈C/2⌉ classes,
see :func:`mmccr.datasets.base_new_split`), then the 14 new ones. A class
is base when its colour index plus its shape index is even (a
checkerboard), so every colour and every shape of a new class also occurs
in some base class: new classes are recognisable from their names.

A scene holds 1–4 distinct classes. Its objects are drawn one at a time
without replacement, with probability proportional to the class weight,
multiplied by :data:`GROUP_BOOST` once for every object already drawn that
shares a co-occurrence group with it, and zero for classes excluded by a
drawn object.
The weights span two orders of magnitude, so the class frequencies have a
long tail (head, medium and tail classes among both base and new classes).

Every draw is a pure function of ``(data_seed, split, index)``:
:func:`scene_rng` seeds one generator per image; the objects are drawn
first, then the pixels (:mod:`.render`) from the same generator, so the
labels alone can be computed without drawing.
"""
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import numpy as np

#: Version of the generator; part of split-file names, so a change of the
#: world never reuses few-shot samples drawn from an older one.
WORLD_VERSION = 1

#: Splits: disjoint random streams. ``'pretrain'`` is the tiny CLIP's
#: captioned corpus.
SPLITS = ('train', 'val', 'test', 'pretrain')

#: Default pool sizes per split.
DEFAULT_NUM_IMAGES = dict(train=5000, val=1000, test=2000, pretrain=10000)

#: Colour names and their RGB values.
COLOURS: Dict[str, Tuple[int, int, int]] = {
    'red': (215, 35, 35),
    'yellow': (240, 210, 30),
    'green': (40, 165, 55),
    'cyan': (40, 200, 210),
    'blue': (40, 85, 215),
    'purple': (135, 55, 185),
    'pink': (245, 130, 190),
}

#: Shape names (see :mod:`.render` for how each is drawn).
SHAPES = ('ball', 'box', 'ring', 'star')


@dataclass(frozen=True)
class ToyClass:
    """One class of the toy world.

    Args:
        name (str): English name, ``'<colour> <shape>'``.
        colour (str): key of :data:`COLOURS`.
        shape (str): one of :data:`SHAPES`.
        weight (float): sampling weight of the scene model.
        tier (str): intended frequency tier, ``'head'``, ``'medium'`` or
            ``'tail'`` (documentation; the realised tier follows the counts).
    """

    name: str
    colour: str
    shape: str
    weight: float
    tier: str


# (colour, shape, weight, tier); base classes first, each half ordered by
# colour then shape.
_TABLE = (
    # base: colour index + shape index even
    ('red', 'ball', 60.0, 'head'),
    ('red', 'ring', 1.0, 'medium'),
    ('yellow', 'box', 2.0, 'medium'),
    ('yellow', 'star', 45.0, 'head'),
    ('green', 'ball', 30.0, 'head'),
    ('green', 'ring', 1.0, 'medium'),
    ('cyan', 'box', 25.0, 'head'),
    ('cyan', 'star', 0.05, 'tail'),
    ('blue', 'ball', 3.0, 'medium'),
    ('blue', 'ring', 0.25, 'tail'),
    ('purple', 'box', 0.25, 'tail'),
    ('purple', 'star', 0.6, 'medium'),
    ('pink', 'ball', 0.25, 'tail'),
    ('pink', 'ring', 35.0, 'head'),
    # new: colour index + shape index odd
    ('red', 'box', 1.0, 'medium'),
    ('red', 'star', 2.0, 'medium'),
    ('yellow', 'ball', 22.0, 'head'),
    ('yellow', 'ring', 1.2, 'medium'),
    ('green', 'box', 0.25, 'tail'),
    ('green', 'star', 20.0, 'head'),
    ('cyan', 'ball', 2.0, 'medium'),
    ('cyan', 'ring', 0.25, 'tail'),
    ('blue', 'box', 40.0, 'head'),
    ('blue', 'star', 28.0, 'head'),
    ('purple', 'ball', 0.25, 'tail'),
    ('purple', 'ring', 1.2, 'medium'),
    ('pink', 'box', 0.25, 'tail'),
    ('pink', 'star', 0.8, 'medium'),
)

#: All classes in canonical order.
CLASSES: Tuple[ToyClass, ...] = tuple(
    ToyClass(f'{c} {s}', c, s, w, t) for c, s, w, t in _TABLE)

#: Canonical class names.
CLASS_NAMES: Tuple[str, ...] = tuple(c.name for c in CLASSES)

#: Groups of classes that tend to appear together.
COOCCURRENCE_GROUPS: Dict[str, Tuple[str, ...]] = {
    'toy room': ('red ball', 'blue box', 'yellow ball', 'red box',
                 'cyan box'),
    'night sky': ('yellow star', 'blue star', 'purple star', 'cyan star'),
    'jewellery': ('pink ring', 'yellow ring', 'purple ring', 'red ring'),
    'garden': ('green ball', 'green star', 'green ring', 'pink star'),
}

#: Pairs of classes that never appear in the same image.
EXCLUSIVE_PAIRS: Tuple[Tuple[str, str], ...] = (
    ('red ball', 'yellow star'),
    ('blue box', 'green ball'),
    ('yellow ball', 'pink ring'),
    ('green star', 'cyan box'),
    ('blue star', 'yellow box'),
)

#: Weight multiplier per drawn object that shares a group with a class.
GROUP_BOOST = 8.0

#: Probabilities of 1, 2, 3 and 4 objects per image.
NUM_OBJECTS_PROBS = (0.4, 0.3, 0.2, 0.1)

#: Class weights are raised to this power per split. The training pool is
#: long-tailed; like the test sets of COCO-LT and VOC-LT, the evaluation
#: splits are not (rarer classes are less rare there), and neither is the
#: tiny CLIP's pretraining corpus, which stands for web data.
SPLIT_TEMPERATURE = dict(train=1.0, val=0.5, test=0.5, pretrain=0.5)

#: The pretraining corpus also favours small scenes (probabilities of 1,
#: 2, 3 and 4 objects).
PRETRAIN_NUM_OBJECTS_PROBS = (0.6, 0.25, 0.1, 0.05)

_NUM_CLASSES = len(CLASSES)
# Per split: class weights, and cumulative probabilities of the number of
# objects (the last one, 1, left out).
_WEIGHTS = {
    split: [c.weight**power for c in CLASSES]
    for split, power in SPLIT_TEMPERATURE.items()
}
_CUM_NUM_OBJECTS = {
    split: np.cumsum(PRETRAIN_NUM_OBJECTS_PROBS if split == 'pretrain' else
                     NUM_OBJECTS_PROBS)[:-1].tolist()
    for split in SPLITS
}
# Per class: the other members of its co-occurrence groups, and the classes
# it excludes.
_GROUP_MATES: List[Tuple[int, ...]] = [()] * _NUM_CLASSES
_EXCLUDED: List[Tuple[int, ...]] = [()] * _NUM_CLASSES


def _index(name: str) -> int:
    return CLASS_NAMES.index(name)


for _members in COOCCURRENCE_GROUPS.values():
    for _name in _members:
        _GROUP_MATES[_index(_name)] += tuple(
            _index(m) for m in _members if m != _name)
for _a, _b in EXCLUSIVE_PAIRS:
    _EXCLUDED[_index(_a)] += (_index(_b), )
    _EXCLUDED[_index(_b)] += (_index(_a), )


_STREAMS = ('scene', 'caption')


def check_split(split: str) -> int:
    """Index of ``split`` in :data:`SPLITS`; raises a clear error if bad."""
    if split not in SPLITS:
        raise ValueError(f'split must be one of {SPLITS}, got {split!r}')
    return SPLITS.index(split)


def scene_rng(data_seed: int, split: str, index: int,
              stream: str = 'scene') -> np.random.Generator:
    """The random generator of one image, a pure function of its key.

    Args:
        data_seed (int): seed of the world (non-negative).
        split (str): one of :data:`SPLITS`.
        index (int): image index in the split (non-negative).
        stream (str): ``'scene'`` (objects, then pixels) or ``'caption'``
            (independent of the scene stream). Defaults to ``'scene'``.

    Returns:
        np.random.Generator: seeded with ``(data_seed, split, index,
        stream)``.
    """
    if data_seed < 0 or index < 0:
        raise ValueError('data_seed and index must be non-negative, got '
                         f'data_seed={data_seed}, index={index}')
    if stream not in _STREAMS:
        raise ValueError(f'stream must be one of {_STREAMS}, got {stream!r}')
    return np.random.default_rng([
        WORLD_VERSION, data_seed,
        check_split(split), index,
        _STREAMS.index(stream)
    ])


def sample_objects(rng: np.random.Generator,
                   split: str = 'train') -> List[int]:
    """Draw the classes of one scene (the scene model above).

    Args:
        rng (np.random.Generator): the image's generator; this is its first
            use (it draws five uniforms).
        split (str): the image's split, which sets the class weights
            (:data:`SPLIT_TEMPERATURE`) and the number of objects
            (:data:`PRETRAIN_NUM_OBJECTS_PROBS` for ``'pretrain'``).
            Defaults to ``'train'``.

    Returns:
        list[int]: 1–4 distinct class indices, in drawing order.
    """
    draws = rng.random(1 + len(NUM_OBJECTS_PROBS)).tolist()
    num = 1 + sum(draws[0] >= c for c in _CUM_NUM_OBJECTS[split])
    weights = list(_WEIGHTS[split])
    chosen: List[int] = []
    for u in draws[1:num + 1]:
        target = u * sum(weights)
        acc, cls = 0.0, -1
        for index, weight in enumerate(weights):
            if weight > 0:  # skips drawn and excluded classes
                acc, cls = acc + weight, index
                if acc > target:
                    break
        chosen.append(cls)
        for mate in _GROUP_MATES[cls]:
            weights[mate] *= GROUP_BOOST
        for other in _EXCLUDED[cls] + (cls, ):
            weights[other] = 0.0
    return chosen


def labels_of(objects: Sequence[int]) -> np.ndarray:
    """Multi-hot labels of a scene.

    Args:
        objects (Sequence[int]): class indices.

    Returns:
        np.ndarray: ``int8`` array ``(C,)`` with 1 at the given classes.
    """
    labels = np.zeros(_NUM_CLASSES, np.int8)
    labels[list(objects)] = 1
    return labels


def sample_labels(data_seed: int, split: str, num_images: int) -> np.ndarray:
    """Labels of the first ``num_images`` images of a split, not drawn.

    Args:
        data_seed (int): seed of the world.
        split (str): one of :data:`SPLITS`.
        num_images (int): number of images.

    Returns:
        np.ndarray: ``int8`` labels ``(num_images, C)``.
    """
    return np.stack([
        labels_of(sample_objects(scene_rng(data_seed, split, i), split))
        for i in range(num_images)
    ]) if num_images else np.zeros((0, _NUM_CLASSES), np.int8)
