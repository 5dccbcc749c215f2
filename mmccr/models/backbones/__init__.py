"""Frozen backbones."""
from .clip import CLIPBackbone

__all__ = ['CLIPBackbone']
