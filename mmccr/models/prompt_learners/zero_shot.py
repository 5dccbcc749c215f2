"""Zero-shot CLIP as a (parameter-free) prompt learner.

Radford et al., "Learning Transferable Visual Models From Natural Language
Supervision", ICML 2021: class text features from hand-crafted templates
(the backbone's ``templates``, e.g. ``'a photo of a {}.'``).
"""
from typing import Optional, Sequence

from torch import Tensor

from mmccr.registry import PROMPT_LEARNERS

from .base import BasePromptLearner, ImageFeatures


@PROMPT_LEARNERS.register_module()
class ZeroShotCLIP(BasePromptLearner):
    """Hand-crafted prompts, nothing to train (the reference row of tables).

    Configs with this learner only test: they set ``train_cfg = None`` (see
    ``configs/demo/zeroshot_toyworld.py``).

    Args:
        backbone: the frozen :class:`CLIPBackbone` (unused; accepted like
            every learner).
        logit_scale (float, optional): cosine multiplier; None takes the
            backbone's learned scale. Defaults to 100.
    """

    def __init__(self,
                 backbone=None,
                 logit_scale: Optional[float] = 100.) -> None:
        super().__init__(logit_scale=logit_scale)

    def set_classes(self, classnames: Sequence[str], backbone) -> None:
        """Nothing to build: features come from the backbone's cache."""
        self.classnames = list(classnames)

    def text_features(self, backbone,
                      image_features: ImageFeatures) -> Tensor:
        """Zero-shot class text features ``(C, D)``."""
        return backbone.zero_shot_text_features(self.classnames)

    def encode_names(self, backbone, names: Sequence[str]) -> Tensor:
        """Zero-shot text features ``(N, D)`` of any names."""
        return backbone.zero_shot_text_features(list(names), cache=False)
