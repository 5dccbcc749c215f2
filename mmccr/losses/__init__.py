"""Base losses of the classifier, registered in ``LOSSES``."""
from .asl import AsymmetricLoss
from .bce import BCELoss
from .ranking import RankingLoss
from .text_deviation import text_deviation

__all__ = ['AsymmetricLoss', 'BCELoss', 'RankingLoss', 'text_deviation']
