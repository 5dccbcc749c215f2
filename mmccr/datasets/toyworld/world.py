"""The toy world's vocabulary and scene model.

Thirty classes, each a (colour, shape) pair with an English name such as
``'red ball'``: five colours times six shapes. Names share words, so text
similarities between them are structured (``'red ball'`` is closer to
``'red heart'`` and ``'blue ball'`` than to ``'green moon'``).

Canonical order: the 15 base classes come first (the first ⌈C/2⌉ classes,
see :func:`mmccr.datasets.base_new_split`), then the 15 new ones. A class
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
    'blue': (40, 85, 215),
    'purple': (135, 55, 185),
}

#: Shape names (see :mod:`.render` for how each is drawn).
SHAPES = ('ball', 'box', 'star', 'ring', 'heart', 'moon')


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
    ('red', 'star', 2.4, 'medium'),
    ('red', 'heart', 30.0, 'head'),
    ('yellow', 'box', 0.25, 'medium'),
    ('yellow', 'ring', 0.25, 'tail'),
    ('yellow', 'moon', 45.0, 'head'),
    ('green', 'ball', 20.0, 'head'),
    ('green', 'star', 25.0, 'head'),
    ('green', 'heart', 0.25, 'tail'),
    ('blue', 'box', 40.0, 'head'),
    ('blue', 'ring', 2.4, 'medium'),
    ('blue', 'moon', 0.2, 'medium'),
    ('purple', 'ball', 0.25, 'tail'),
    ('purple', 'star', 2.2, 'medium'),
    ('purple', 'heart', 1.8, 'medium'),
    # new: colour index + shape index odd
    ('red', 'box', 0.25, 'medium'),
    ('red', 'ring', 0.15, 'tail'),
    ('red', 'moon', 2.4, 'medium'),
    ('yellow', 'ball', 22.0, 'head'),
    ('yellow', 'star', 35.0, 'head'),
    ('yellow', 'heart', 0.25, 'tail'),
    ('green', 'box', 18.0, 'head'),
    ('green', 'ring', 0.7, 'medium'),
    ('green', 'moon', 0.25, 'tail'),
    ('blue', 'ball', 2.4, 'medium'),
    ('blue', 'star', 28.0, 'head'),
    ('blue', 'heart', 2.4, 'medium'),
    ('purple', 'box', 0.25, 'tail'),
    ('purple', 'ring', 1.5, 'medium'),
    ('purple', 'moon', 0.25, 'tail'),
)

#: All classes in canonical order.
CLASSES: Tuple[ToyClass, ...] = tuple(
    ToyClass(f'{c} {s}', c, s, w, t) for c, s, w, t in _TABLE)

#: Canonical class names.
CLASS_NAMES: Tuple[str, ...] = tuple(c.name for c in CLASSES)

#: Groups of classes that tend to appear together.
COOCCURRENCE_GROUPS: Dict[str, Tuple[str, ...]] = {
    'night sky': ('yellow moon', 'yellow star', 'blue star', 'blue moon'),
    'toy room': ('red ball', 'blue box', 'green ball', 'yellow box',
                 'red box'),
    'valentine': ('red heart', 'purple heart', 'red ring', 'purple ring'),
    'garden': ('green star', 'yellow ball', 'green box', 'green ring'),
}

#: Pairs of classes that never appear in the same image.
EXCLUSIVE_PAIRS: Tuple[Tuple[str, str], ...] = (
    ('red ball', 'yellow moon'),
    ('blue box', 'red heart'),
    ('green star', 'blue star'),
    ('yellow star', 'green ball'),
    ('blue moon', 'red box'),
)

#: Weight multiplier per drawn object that shares a group with a class.
GROUP_BOOST = 8.0

#: Probabilities of 1, 2, 3 and 4 objects per image.
NUM_OBJECTS_PROBS = (0.4, 0.3, 0.2, 0.1)

#: The ``'pretrain'`` split (the tiny CLIP's captioned corpus) is drawn like
#: a web corpus rather than like a curated dataset: class weights are
#: raised to this power, so rare classes are better covered ...
PRETRAIN_TEMPERATURE = 0.5
#: ... and scenes are smaller (probabilities of 1, 2, 3 and 4 objects).
PRETRAIN_NUM_OBJECTS_PROBS = (0.6, 0.25, 0.1, 0.05)

_NUM_CLASSES = len(CLASSES)
# Class weights and cumulative object-count probabilities, for curated
# splits (False) and the pretraining corpus (True).
_WEIGHTS = {
    False: [c.weight for c in CLASSES],
    True: [c.weight**PRETRAIN_TEMPERATURE for c in CLASSES],
}
_CUM_NUM_OBJECTS = {
    False: np.cumsum(NUM_OBJECTS_PROBS)[:-1].tolist(),
    True: np.cumsum(PRETRAIN_NUM_OBJECTS_PROBS)[:-1].tolist(),
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
        split (str): the image's split; ``'pretrain'`` tempers the class
            weights and favours small scenes (:data:`PRETRAIN_TEMPERATURE`,
            :data:`PRETRAIN_NUM_OBJECTS_PROBS`). Defaults to ``'train'``.

    Returns:
        list[int]: 1–4 distinct class indices, in drawing order.
    """
    pretrain = split == 'pretrain'
    draws = rng.random(1 + len(NUM_OBJECTS_PROBS)).tolist()
    num = 1 + sum(draws[0] >= c for c in _CUM_NUM_OBJECTS[pretrain])
    weights = list(_WEIGHTS[pretrain])
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
