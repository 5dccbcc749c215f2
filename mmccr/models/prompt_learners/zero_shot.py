"""Zero-shot CLIP as a (parameter-free) prompt learner.

Radford et al., "Learning Transferable Visual Models From Natural Language
Supervision", ICML 2021: class text features from hand-crafted templates
(the backbone's ``templates``, e.g. ``'a photo of a {}.'``).
"""
from typing import Optional, Sequence

from torch import Tensor

from mmccr.registry import PROMPT_LEARNERS

from .base import BasePromptLearner, Features


@PROMPT_LEARNERS.register_module()
class ZeroShotCLIP(BasePromptLearner):
    """Hand-crafted prompts, nothing to train (the reference row of tables).

    Configs with this learner only test: they set ``train_cfg = None`` (see
    ``configs/demo/zeroshot_toyworld.py``); ``tools/test.py`` runs them
    without a checkpoint.

    Args:
        backbone: the frozen :class:`CLIPBackbone` (unused; accepted like
            every learner).
        logit_scale (float, optional): cosine multiplier; None (default)
            takes the backbone's learned scale.
        logit_bias (float, optional): logit offset; None (default) takes the
            backbone's (0 for CLIP).
    """

    def __init__(self,
                 backbone=None,
                 logit_scale: Optional[float] = None,
                 logit_bias: Optional[float] = None) -> None:
        super().__init__(logit_scale=logit_scale, logit_bias=logit_bias)

    def class_features(self, backbone, features: Features) -> Tensor:
        """Zero-shot class text features ``(C, D)``."""
        return backbone.zero_shot_features(self.classnames)

    def tuned_features(self,
                       backbone,
                       names: Sequence[str],
                       features: Optional[Features] = None) -> Tensor:
        """Zero-shot text features ``(N, D)`` of any names."""
        return backbone.zero_shot_features(list(names), cache=False)
