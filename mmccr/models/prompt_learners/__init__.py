"""Prompt learners, registered in ``PROMPT_LEARNERS``."""
from .base import BasePromptLearner, ImageFeatures, PromptTokens
from .coop import CoOp
from .zero_shot import ZeroShotCLIP

__all__ = [
    'BasePromptLearner', 'CoOp', 'ImageFeatures', 'PromptTokens',
    'ZeroShotCLIP'
]
