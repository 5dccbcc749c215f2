"""Prompt learners, registered in ``PROMPT_LEARNERS``."""
from .base import BasePromptLearner, Features, LearnerOutput, PromptTokens
from .cocoop import CoCoOp
from .coop import CoOp
from .dualcoop import DualCoOp
from .kgcoop import KgCoOp
from .tai_dpt import TaIDPT
from .zero_shot import ZeroShotCLIP

__all__ = [
    'BasePromptLearner', 'CoCoOp', 'CoOp', 'DualCoOp', 'Features',
    'KgCoOp', 'LearnerOutput', 'PromptTokens', 'TaIDPT', 'ZeroShotCLIP'
]
