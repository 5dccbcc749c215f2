"""Input handling shared by the metric functions."""
from typing import TYPE_CHECKING, Tuple, Union

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: What the metric functions accept: a numpy array or a torch tensor.
Array = Union[np.ndarray, 'torch.Tensor']


def as_float64(array: Array) -> np.ndarray:
    """A numpy float64 copy of a numpy array or torch tensor."""
    if hasattr(array, 'detach'):
        array = array.detach().cpu().numpy()
    return np.asarray(array, dtype=np.float64)


def check_pair(logits: Array, targets: Array) -> Tuple[np.ndarray,
                                                        np.ndarray]:
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


def decide(logits: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean decisions ``sigmoid(z) >= threshold``, i.e. ``z >= logit(t)``.

    Args:
        logits (np.ndarray): float64 logits of any shape.
        threshold (float): probability threshold in (0, 1).

    Returns:
        np.ndarray: boolean decisions, same shape as ``logits``.
    """
    if not 0 < threshold < 1:
        raise ValueError(f'threshold must be in (0, 1), got {threshold}')
    # sigmoid(z) >= t  <=>  z >= logit(t); logit(0.5) is exactly 0
    return logits >= np.log(threshold / (1 - threshold))


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Elementwise ``num / den`` as float64, NaN where ``den == 0``."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
