"""Packing a sample for the model."""
import torch

from mmccr.registry import TRANSFORMS

from .base import BaseTransform


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
