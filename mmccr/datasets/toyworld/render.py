"""Drawing toy-world scenes with numpy.

An image is drawn in three layers on a channel-first ``(3, S, S)`` canvas
(``S`` is the image size; every length below is given for ``S = 64`` and
scales with it):

1. **Background**: one of :data:`BACKGROUNDS` (muted colours), a linear
   brightness gradient in a random direction and per-pixel grey noise.
2. **Clutter**: 4–10 small distractors in desaturated greys and browns
   (:data:`CLUTTER_COLOURS`): thin lines, specks and small blocks.
3. **Objects**, in random order, so that later ones may occlude earlier
   ones: each has a random radius of 8–15 pixels, a random position
   (chosen among a few tries so that bounding boxes overlap by at most
   :data:`MAX_OVERLAP` of the smaller box where possible), a small tilt
   (up to :data:`MAX_TILT` degrees), a jittered colour with a lighting
   gradient, and a dark 1-pixel outline.

Shapes are defined on normalised, tilted coordinates ``(u, v)`` with the
object's radius as unit (:func:`shape_mask`). Every random choice of an
image comes from one batch of uniforms drawn from its generator.
"""
import math
from functools import lru_cache
from typing import Iterator, List, Sequence, Tuple

import numpy as np

from .world import CLASSES, COLOURS, SHAPES, sample_objects, scene_rng

#: Background colours (RGB).
BACKGROUNDS = (
    (200, 200, 195),  # light grey
    (215, 200, 170),  # beige
    (95, 105, 115),  # slate
    (175, 165, 140),  # sand
    (65, 65, 70),  # charcoal
    (150, 160, 145),  # sage
)

#: Colours of the clutter (RGB): greys and browns, none of them a class
#: colour.
CLUTTER_COLOURS = (
    (40, 40, 40), (110, 110, 110), (170, 170, 170), (235, 235, 235),
    (120, 85, 55), (160, 130, 95), (90, 70, 60),
)

#: Object radius range, as a fraction of the image size.
RADIUS_RANGE = (8 / 64, 15 / 64)

#: Number of gradient directions of the background.
NUM_ANGLES = 24

#: Object tilts: ``NUM_TILTS`` angles evenly spread over ``±MAX_TILT``
#: degrees.
MAX_TILT, NUM_TILTS = 15.0, 7

#: Largest overlap of two objects' bounding boxes, as a fraction of the
#: smaller box, that placement accepts without further tries.
MAX_OVERLAP = 0.3

#: Placement tries per object.
PLACEMENT_TRIES = 8

#: Largest jitter of an object's colour, per channel.
COLOUR_JITTER = 15.0

_CLUTTER_RGB = np.array(CLUTTER_COLOURS, np.float32)[..., None]  # (7, 3, 1)

# Uniforms an image may use: background 3, clutter 1 + 5 per item, and per
# object 1 (radius) + 2 per placement try + 1 (tilt) + 3 (colour).
_UNIFORMS = 3 + 1 + 5 * 10 + 4 * (5 + 2 * PLACEMENT_TRIES)


def shape_mask(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Pixels covered by a shape of radius 1.

    Args:
        shape (str): one of :data:`mmccr.datasets.toyworld.world.SHAPES`.
        u (np.ndarray): horizontal coordinates, in radii, any shape.
        v (np.ndarray): vertical coordinates (downwards), same shape.

    Returns:
        np.ndarray: boolean mask of the same shape as ``u``.
    """
    if shape == 'ball':
        return u * u + v * v <= 1.0
    if shape == 'box':
        return np.maximum(np.abs(u), np.abs(v)) <= 0.8
    if shape == 'ring':
        rho2 = u * u + v * v
        return (rho2 <= 1.0) & (rho2 >= 0.55**2)
    if shape == 'star':
        rho = np.sqrt(u * u + v * v)
        # Five points: the radius limit falls from 1 at a point to 0.45
        # halfway between two points.
        phase = (np.arctan2(u, -v) * (5 / (2 * math.pi))) % 1.0
        return rho <= 0.45 + 0.55 * np.abs(2 * phase - 1)**1.5
    raise ValueError(f'shape must be one of {SHAPES}, got {shape!r}')


@lru_cache(maxsize=None)
def _sprite(shape: str, radius: int,
            tilt: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outline mask, inner mask and lighting of a tilted shape.

    The window is ``(2 r + 3, 2 r + 3)``: the shape plus a 1-pixel margin.
    The outline is made of the shape's pixels that have a 4-neighbour
    outside it; the lighting is a brightness factor in [0.85, 1.15],
    brightest towards the top right.
    """
    theta = math.radians(MAX_TILT * (2 * tilt / (NUM_TILTS - 1) - 1))
    offsets = np.arange(-radius - 1, radius + 2, dtype=np.float32) / radius
    dy, dx = offsets[:, None], offsets[None, :]
    cos, sin = math.cos(theta), math.sin(theta)
    u, v = dx * cos + dy * sin, dy * cos - dx * sin
    mask = shape_mask(shape, u, v)
    inner = mask.copy()
    inner[1:-1, 1:-1] &= (mask[:-2, 1:-1] & mask[2:, 1:-1]
                          & mask[1:-1, :-2] & mask[1:-1, 2:])
    light = 1.0 + 0.15 * np.clip(dx - dy, -1, 1)
    return mask & ~inner, inner, light.astype(np.float32)


@lru_cache(maxsize=None)
def _gradient(size: int, angle: int) -> np.ndarray:
    """Unit linear gradient ``(S, S)`` in [-1.4, 1.4] along ``angle``."""
    theta = 2 * math.pi * angle / NUM_ANGLES
    ramp = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    return math.cos(theta) * ramp[None, :] + math.sin(theta) * ramp[:, None]


def _pick(draw: float, n: int) -> int:
    """An integer in ``[0, n)`` from a uniform in ``[0, 1)``."""
    return min(int(draw * n), n - 1)


def _background(draws: Iterator[float], rng: np.random.Generator,
                size: int) -> np.ndarray:
    """Muted colour, gradient and noise ``(3, S, S)`` float32."""
    base = np.array(BACKGROUNDS[_pick(next(draws), len(BACKGROUNDS))],
                    np.float32)[:, None, None]
    gradient = _gradient(size, _pick(next(draws), NUM_ANGLES))
    amplitude = 5 + 20 * next(draws)
    noise = rng.integers(-8, 9, (size, size), dtype=np.int8)
    return base + (amplitude * gradient + noise)


def _clutter(canvas: np.ndarray, draws: Iterator[float]) -> None:
    """Draw 4–10 lines, specks and blocks in grey or brown, in place."""
    size = canvas.shape[1]
    for _ in range(4 + _pick(next(draws), 7)):
        kind = _pick(next(draws), 4)
        colour = _CLUTTER_RGB[_pick(next(draws), len(CLUTTER_COLOURS))]
        y, x = _pick(next(draws), size), _pick(next(draws), size)
        length = max(1, round((4 + 10 * next(draws)) * size / 64))
        if kind == 0:  # horizontal line
            canvas[:, y, x:x + length] = colour
        elif kind == 1:  # vertical line
            canvas[:, y:y + length, x] = colour
        elif kind == 2:  # diagonal line
            steps = np.arange(min(length, size - y, size - x))
            canvas[:, y + steps, x + steps] = colour
        else:  # speck or block, a third of the length
            side = max(1, length // 3)
            canvas[:, y:y + side, x:x + side] = colour[..., None]


def _overlap(a: Tuple[int, int, int], b: Tuple[int, int, int]) -> float:
    """Overlap of two boxes ``(cy, cx, r)`` over the smaller box's area."""
    (ya, xa, ra), (yb, xb, rb) = a, b
    h = min(ya + ra, yb + rb) - max(ya - ra, yb - rb)
    w = min(xa + ra, xb + rb) - max(xa - ra, xb - rb)
    if h <= 0 or w <= 0:
        return 0.0
    return h * w / (4 * min(ra, rb)**2)


def _place(draws: Iterator[float], size: int, radius: int,
           placed: List[Tuple[int, int, int]]) -> Tuple[int, int]:
    """Centre of a new object: the least-overlapping of a few tries.

    The centre keeps the object's window (radius plus a 1-pixel margin)
    inside the image.
    """
    span = size - 2 * (radius + 1)
    best, best_overlap = (0, 0), math.inf
    for _ in range(PLACEMENT_TRIES):
        cy = radius + 1 + _pick(next(draws), span)
        cx = radius + 1 + _pick(next(draws), span)
        overlap = max((_overlap((cy, cx, radius), p) for p in placed),
                      default=0.0)
        if overlap < best_overlap:
            best, best_overlap = (cy, cx), overlap
        if overlap <= MAX_OVERLAP:
            break
    return best


def _draw_object(canvas: np.ndarray, draws: Iterator[float], cls: int,
                 cy: int, cx: int, radius: int) -> None:
    """Draw one object of class ``cls`` centred at ``(cy, cx)``, in place."""
    toy = CLASSES[cls]
    outline, inner, light = _sprite(toy.shape, radius,
                                    _pick(next(draws), NUM_TILTS))
    jitter = [COLOUR_JITTER * (2 * next(draws) - 1) for _ in range(3)]
    colour = np.array([c + j for c, j in zip(COLOURS[toy.colour], jitter,
                                              strict=True)], np.float32)
    fill = light * colour[:, None, None]  # (3, h, w)
    window = canvas[:, cy - radius - 1:cy + radius + 2,
                    cx - radius - 1:cx + radius + 2]
    np.copyto(window, fill, where=inner)
    np.copyto(window, 0.55 * fill, where=outline)


def render(objects: Sequence[int], rng: np.random.Generator,
           size: int = 64) -> np.ndarray:
    """Draw a scene.

    Args:
        objects (Sequence[int]): class indices of its 1–4 objects.
        rng (np.random.Generator): the image's generator.
        size (int): image side in pixels (at least 32). Defaults to 64.

    Returns:
        np.ndarray: the image, ``uint8`` ``(size, size, 3)`` RGB (a view of
        channel-first memory; ``.transpose(2, 0, 1)`` gives the contiguous
        ``(3, size, size)`` array without a copy).
    """
    if size < 32:
        raise ValueError(f'image size must be at least 32, got {size}')
    if not 1 <= len(objects) <= 4:
        raise ValueError(f'a scene has 1-4 objects, got {len(objects)}')
    draws = iter(rng.random(_UNIFORMS).tolist())
    canvas = _background(draws, rng, size)
    _clutter(canvas, draws)
    low, high = (round(f * size) for f in RADIUS_RANGE)
    radii = [low + _pick(next(draws), high - low + 1) for _ in objects]
    order = rng.permutation(len(objects)).tolist()
    placed: List[Tuple[int, int, int]] = []
    for k in order:
        cy, cx = _place(draws, size, radii[k], placed)
        placed.append((cy, cx, radii[k]))
        _draw_object(canvas, draws, objects[k], cy, cx, radii[k])
    return np.clip(canvas, 0, 255).astype(np.uint8).transpose(1, 2, 0)


def scene_image(data_seed: int, split: str, index: int,
                size: int = 64) -> Tuple[np.ndarray, List[int]]:
    """Image ``index`` of a split: its objects, then its pixels.

    Args:
        data_seed (int): seed of the world.
        split (str): one of :data:`mmccr.datasets.toyworld.world.SPLITS`.
        index (int): image index in the split.
        size (int): image side in pixels. Defaults to 64.

    Returns:
        tuple: the image ``(size, size, 3)`` uint8 and its class indices.
    """
    rng = scene_rng(data_seed, split, index)
    objects = sample_objects(rng, split)
    return render(objects, rng, size), objects
