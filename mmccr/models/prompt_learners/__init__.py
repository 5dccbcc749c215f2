"""Prompt learners, registered in ``PROMPT_LEARNERS``."""
from .base import BasePromptLearner, Features, LearnerOutput, PromptTokens
from .cocoop import CoCoOp
from .coop import CoOp
from .dualcoop import DualCoOp
from .kgcoop import KgCoOp
from .t2i_pal import T2IPAL
from .tai_dpt import TaIDPT
from .tai_plus_plus import TaIPlusPlus
from .zero_shot import ZeroShotCLIP

__all__ = [
    'BasePromptLearner', 'CoCoOp', 'CoOp', 'DualCoOp', 'Features',
    'KgCoOp', 'LearnerOutput', 'PromptTokens', 'T2IPAL', 'TaIDPT',
    'TaIPlusPlus', 'ZeroShotCLIP'
]
