"""Calibrators, registered in ``CALIBRATORS``."""
from .base import BaseCalibrator
from .ccr import CCR, ccr_loss, predicted_correlation
from .dac import DAC, dac_factors
from .dor import DOR, load_vocabulary, rank_outliers
from .temperature import TemperatureScaling, fit_temperature
from .text_anchor import TextAnchor

__all__ = [
    'BaseCalibrator', 'CCR', 'DAC', 'DOR', 'TemperatureScaling', 'TextAnchor',
    'ccr_loss', 'dac_factors', 'fit_temperature', 'load_vocabulary',
    'predicted_correlation', 'rank_outliers'
]
