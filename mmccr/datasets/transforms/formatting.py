"""Packing a sample for the model."""
from typing import Callable, Optional

import torch

from mmccr.registry import TRANSFORMS

from .base import BaseTransform
from .processing import flip_decision


def pack_targets(results: dict) -> dict:
    """The ``data_samples`` of a sample: ``gt_label`` and ``sample_idx``."""
    return dict(
        gt_label=torch.as_tensor(results['gt_label'], dtype=torch.float32),
        sample_idx=int(results['sample_idx']))


@TRANSFORMS.register_module()
class PackInputs(BaseTransform):
    """Pack a sample as ``inputs`` and ``data_samples``.

    ``inputs`` is the uint8 image ``(3, H, W)``; ``data_samples`` is a dict
    with ``gt_label`` (float ``(C,)``: 1, 0 or -1) and ``sample_idx``. With
    ``default_collate`` a batch becomes ``(B, 3, H, W)`` and dicts of
    ``(B, C)`` / ``(B,)`` tensors.
    """

    def transform(self, results: dict) -> dict:
        """Pack one sample."""
        return dict(inputs=results['img'], data_samples=pack_targets(results))


@TRANSFORMS.register_module()
class PackCaption(BaseTransform):
    """Pack a caption sample: ``inputs`` is the caption string.

    With ``default_collate`` a batch's ``inputs`` become a list of ``B``
    strings, which the classifier tokenizes and encodes with the frozen
    text tower (text-trained learners); ``data_samples`` are those of
    :class:`PackInputs`.
    """

    def transform(self, results: dict) -> dict:
        """Pack one caption."""
        return dict(inputs=results['text'], data_samples=pack_targets(results))


@TRANSFORMS.register_module()
class PackImageCaption(BaseTransform):
    """Pack an image with the caption it was generated from (T2I-PAL).

    ``inputs`` is ``dict(img=(3, H, W) uint8, text=caption)``; with
    ``default_collate`` a batch gives ``img`` ``(B, 3, H, W)`` and ``text``
    a list of ``B`` strings. ``data_samples`` are those of
    :class:`PackInputs`.
    """

    def transform(self, results: dict) -> dict:
        """Pack one generated image and its caption."""
        return dict(inputs=dict(img=results['img'], text=results['text']),
                    data_samples=pack_targets(results))


@TRANSFORMS.register_module()
class CachedFeatureInputs(BaseTransform):
    """Pack a sample whose frozen image features are cached.

    Replaces a whole ``LoadImage → Resize → [RandomFlip] → PackInputs``
    pipeline when the model reads the image features from a feature cache
    (``FeatureCacheHook``): no image is loaded. The flip is decided with
    the same draw as :class:`RandomFlip` (:func:`flip_decision`), so with
    the same random state a sample takes the same view as without the
    cache. ``data_samples`` carries ``feature_cache`` (which cache),
    ``sample_idx`` (its row) and ``feature_view`` (0: the image, 1: its
    horizontal flip). ``inputs`` is a 1 × 1 black placeholder image: the
    data preprocessor expects an image and the model ignores it.

    Args:
        cache_key (str): the cache's name in the model.
        flip_prob (float, optional): the pipeline's ``RandomFlip``
            probability; None when it has no flip (nothing is drawn).
        image_pipeline (Callable, optional): the pipeline this one
            replaces, for passes that need the images themselves
            (:func:`~mmccr.datasets.build.image_pipeline`).
    """

    def __init__(self, cache_key: str,
                 flip_prob: Optional[float] = None,
                 image_pipeline: Optional[Callable] = None) -> None:
        self.cache_key = cache_key
        self.flip_prob = flip_prob
        self.image_pipeline = image_pipeline

    def transform(self, results: dict) -> dict:
        """Pack one sample without its image."""
        flipped = self.flip_prob is not None and flip_decision(
            self.flip_prob)
        return dict(
            inputs=torch.zeros((3, 1, 1), dtype=torch.uint8),
            data_samples=dict(pack_targets(results),
                              feature_view=int(flipped),
                              feature_cache=self.cache_key))
