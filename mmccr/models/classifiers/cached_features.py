"""Frozen image features read from a feature cache instead of the tower."""
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from ..prompt_learners.base import Features


class CachedFeatures:
    """The cached frozen features of one dataset, by row and view.

    Built by ``mmccr.engine.feature_cache`` (which computes, stores and
    checks them) and read by :meth:`PromptClassifier.forward` for batches
    whose ``data_samples`` name this cache.

    Args:
        pooled (np.ndarray): global features ``(N, V, D)``, usually
            memory-mapped; view 0 is the image, view 1 its horizontal flip.
        tokens (np.ndarray, optional): dense tokens ``(N, V, L, D)``.
    """

    def __init__(self, pooled: np.ndarray,
                 tokens: Optional[np.ndarray] = None) -> None:
        self.pooled = pooled
        self.tokens = tokens

    def __len__(self) -> int:
        return self.pooled.shape[0]

    @property
    def num_views(self) -> int:
        """1 (the image) or 2 (the image and its horizontal flip)."""
        return self.pooled.shape[1]

    def features(self, rows: Tensor, views: Tensor,
                 device: torch.device, dense: bool) -> Features:
        """The float32 features of samples ``rows`` ``(B,)`` in ``views``.

        Raises:
            ValueError: dense tokens are asked for but were not cached.
        """
        rows, views = rows.cpu().numpy(), views.cpu().numpy()

        def read(array: np.ndarray) -> Tensor:
            return torch.from_numpy(np.ascontiguousarray(
                array[rows, views])).to(device=device, dtype=torch.float32)

        tokens = None
        if dense:
            if self.tokens is None:
                raise ValueError(
                    'The feature cache of this dataset holds no dense '
                    'tokens, which the learner needs; it was built for a '
                    'learner without needs_dense_features.')
            tokens = read(self.tokens)  # (B, L, D)
        return Features(read(self.pooled), tokens)  # (B, D)
