"""Top-level models."""
from .class_view import ClassView
from .data_preprocessor import CaptionOrImagePreprocessor, is_captions
from .prompt_classifier import PromptClassifier, clip_data_preprocessor

__all__ = [
    'CaptionOrImagePreprocessor', 'ClassView', 'PromptClassifier',
    'clip_data_preprocessor', 'is_captions'
]
