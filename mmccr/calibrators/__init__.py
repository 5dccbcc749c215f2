"""Calibrators, registered in ``CALIBRATORS``."""
from .base import BaseCalibrator
from .ccr import CCR, ccr_loss, predicted_correlation

__all__ = ['BaseCalibrator', 'CCR', 'ccr_loss', 'predicted_correlation']
