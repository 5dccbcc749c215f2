"""Batch preparation for image batches and caption batches."""
from typing import Any

from mmengine.model import ImgDataPreprocessor

from mmccr.registry import MODELS


def is_captions(inputs: Any) -> bool:
    """Whether a batch's ``inputs`` are captions (a list of strings)."""
    return isinstance(inputs, (list, tuple)) and bool(inputs) and all(
        isinstance(x, str) for x in inputs)


@MODELS.register_module()
class CaptionOrImagePreprocessor(ImgDataPreprocessor):
    """``ImgDataPreprocessor`` that lets caption batches through.

    Text-trained learners train on batches whose ``inputs`` are the
    captions themselves (:class:`~mmccr.datasets.transforms.PackCaption`);
    those are only moved with their targets to the model's device, and
    the classifier tokenizes them. Image batches are normalised as by
    ``ImgDataPreprocessor``.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise images; pass captions through."""
        if is_captions(data.get('inputs')):
            return self.cast_data(data)
        return super().forward(data, training)

