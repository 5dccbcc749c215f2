"""Geometric image transforms on uint8 ``(3, H, W)`` tensors."""
from typing import Sequence, Union

import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from mmccr.registry import TRANSFORMS

from .base import BaseTransform


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize to a fixed size (the whole image is kept, no crop).

    Multi-label images carry objects near the borders, so the default
    pipelines resize to a square instead of cropping.

    Args:
        size (int | Sequence[int]): output ``(H, W)`` or one side of a
            square.
        interpolation (str): ``'bicubic'`` (CLIP's) or ``'bilinear'``.
    """

    def __init__(self, size: Union[int, Sequence[int]],
                 interpolation: str = 'bicubic') -> None:
        self.size = [size, size] if isinstance(size, int) else list(size)
        self.interpolation = InterpolationMode(interpolation)

    def transform(self, results: dict) -> dict:
        """Resize ``img``."""
        img = TF.resize(results['img'], self.size, self.interpolation,
                        antialias=True)
        results['img'] = img
        return results


def flip_decision(prob: float) -> bool:
    """Whether to flip: one draw of torch's global generator.

    The only random draw of the default pipelines. :class:`RandomFlip` and
    :class:`~mmccr.datasets.transforms.CachedFeatureInputs` (cached image
    features) both decide with it, so a sample is flipped in the same
    epochs with and without the feature cache.
    """
    return bool(torch.rand(()) < prob)


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Flip ``img`` horizontally with probability ``prob``.

    Args:
        prob (float): flip probability. Defaults to 0.5.
    """

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def transform(self, results: dict) -> dict:
        """Maybe flip ``img``."""
        if flip_decision(self.prob):
            results['img'] = TF.horizontal_flip(results['img'])
        return results
