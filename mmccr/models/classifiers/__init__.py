"""Top-level models."""
from .prompt_classifier import PromptClassifier, clip_data_preprocessor

__all__ = ['PromptClassifier', 'clip_data_preprocessor']
