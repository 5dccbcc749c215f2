"""Input handling shared by the metric functions."""
from typing import Tuple

import numpy as np


def as_float64(array) -> np.ndarray:
    """A numpy float64 copy of a numpy array or torch tensor."""
    if hasattr(array, 'detach'):
        array = array.detach().cpu().numpy()
    return np.asarray(array, dtype=np.float64)


def check_pair(logits, targets) -> Tuple[np.ndarray, np.ndarray]:
    """Validate and convert ``(N, C)`` logits and targets to float64."""
    logits, targets = as_float64(logits), as_float64(targets)
    if logits.ndim != 2 or logits.shape != targets.shape:
        raise ValueError('logits and targets must both be (N, C), got '
                         f'{logits.shape} and {targets.shape}')
    return logits, targets


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable float64 sigmoid."""
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out
