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
    ``ImgDataPreprocessor``; batches of images with their captions
    (``dict(img=..., text=[...])``, T2I-PAL) get both treatments.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise images; pass captions through."""
        inputs = data.get('inputs')
        if is_captions(inputs):
            return self.cast_data(data)
        if isinstance(inputs, dict):  # images with their captions
            out = super().forward(dict(data, inputs=inputs['img']), training)
            out['inputs'] = dict(img=out['inputs'], text=list(inputs['text']))
            return out
        return super().forward(data, training)

