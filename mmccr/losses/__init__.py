"""Base losses of the classifier, registered in ``LOSSES``."""
from .asl import AsymmetricLoss
from .bce import BCELoss
from .ranking import RankingLoss

__all__ = ['AsymmetricLoss', 'BCELoss', 'RankingLoss']
