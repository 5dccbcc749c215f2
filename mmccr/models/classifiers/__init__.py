"""Top-level models."""
from .class_view import ClassView
from .prompt_classifier import PromptClassifier, clip_data_preprocessor

__all__ = ['ClassView', 'PromptClassifier', 'clip_data_preprocessor']
