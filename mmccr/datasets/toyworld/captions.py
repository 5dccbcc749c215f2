"""Captions of toy-world scenes, for contrastive pretraining.

A caption names every object of a scene, in random order, inside one of
:data:`TEMPLATES`; each colour and shape word is replaced by one of its
synonyms (:data:`COLOUR_SYNONYMS`, :data:`SHAPE_SYNONYMS`) with probability
:data:`SYNONYM_PROB`. Examples::

    a photo of a red ball and a blue box.
    there is an emerald star, a golden ball and a purple hoop in this picture.
"""
from typing import Dict, Sequence, Tuple

import numpy as np

from .world import CLASSES

#: Caption templates; ``{}`` stands for the list of objects.
TEMPLATES = (
    'a photo of {}.',
    'a picture of {}.',
    '{}.',
    'an image showing {}.',
    'there is {} in this picture.',
    'a toy scene with {}.',
    '{} on a cluttered background.',
    'a close-up photo of {}.',
)

#: Colour words: the canonical one first, then its synonyms.
COLOUR_SYNONYMS: Dict[str, Tuple[str, ...]] = {
    'red': ('red', 'crimson', 'scarlet'),
    'yellow': ('yellow', 'golden'),
    'green': ('green', 'emerald'),
    'cyan': ('cyan', 'turquoise'),
    'blue': ('blue', 'azure'),
    'purple': ('purple', 'violet'),
    'pink': ('pink', 'rosy'),
}

#: Shape words: the canonical one first, then its synonyms.
SHAPE_SYNONYMS: Dict[str, Tuple[str, ...]] = {
    'ball': ('ball', 'sphere'),
    'box': ('box', 'cube', 'crate'),
    'ring': ('ring', 'hoop'),
    'star': ('star', ),
}

#: Probability of using a synonym instead of a canonical word.
SYNONYM_PROB = 0.3

def _word(words: Tuple[str, ...], draw: float) -> str:
    """Canonical word, or a synonym with probability SYNONYM_PROB."""
    if len(words) == 1 or draw >= SYNONYM_PROB:
        return words[0]
    synonyms = words[1:]
    return synonyms[min(int(draw / SYNONYM_PROB * len(synonyms)),
                        len(synonyms) - 1)]


def _with_article(phrase: str) -> str:
    return ('an ' if phrase[0] in 'aeiou' else 'a ') + phrase


def join_phrases(phrases: Sequence[str]) -> str:
    """``'x'``, ``'x and y'`` or ``'x, y and z'``."""
    if len(phrases) == 1:
        return phrases[0]
    return ', '.join(phrases[:-1]) + ' and ' + phrases[-1]


def caption(objects: Sequence[int], rng: np.random.Generator) -> str:
    """A caption naming every object of a scene.

    Args:
        objects (Sequence[int]): class indices, at least one.
        rng (np.random.Generator): draws the template, order and words.

    Returns:
        str: the caption, lower case, ending with a full stop.
    """
    if not objects:
        raise ValueError('a caption needs at least one object')
    draws = rng.random(1 + 2 * len(objects)).tolist()
    order = rng.permutation(len(objects)).tolist()
    phrases = []
    for k, index in enumerate(order):
        toy = CLASSES[objects[index]]
        colour = _word(COLOUR_SYNONYMS[toy.colour], draws[1 + 2 * k])
        shape = _word(SHAPE_SYNONYMS[toy.shape], draws[2 + 2 * k])
        phrases.append(_with_article(f'{colour} {shape}'))
    template = TEMPLATES[min(int(draws[0] * len(TEMPLATES)),
                             len(TEMPLATES) - 1)]
    return template.format(join_phrases(phrases))
