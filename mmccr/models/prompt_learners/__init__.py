"""Prompt learners, registered in ``PROMPT_LEARNERS``."""
from .base import BasePromptLearner, ImageFeatures, PromptTokens
from .coop import CoOp

__all__ = ['BasePromptLearner', 'CoOp', 'ImageFeatures', 'PromptTokens']
