"""Probability mappings: from logits to the probabilities a metric judges.

Calibration is a property of probabilities, and a multi-label model's
logits can be read as probabilities in more than one way. The mappings
(``docs/metrics.md``, Conventions):

* ``'sigmoid'`` (default): ``p_nc = sigmoid(z_nc)``, one independent
  probability per (image, class) pair, as BCE-trained multi-label models
  mean them.
* ``'softmax'``: ``p_nc = softmax_c(z_n)`` over the evaluated classes of
  image n, the single-label reading of CLIP's zero-shot classifier.
* ``'platt_cv'``: a *pseudo-confidence* for models whose logits are not
  probabilities (e.g. ranking-loss training): ``p = sigmoid(a z + b)`` with
  one slope ``a`` and bias ``b`` for all classes, fitted by maximum
  likelihood (Platt scaling) on held-out images. Held out by cross-fitting:
  the images are split into two folds by index parity, and each fold is
  mapped with the (a, b) fitted on the other fold's known pairs. This is
  mmccr's reconstruction; the CCR paper's Appendix B, which defines its
  pseudo-confidence, is not public.

The DAC evaluator's reading (softmax, one top-1 confidence per image,
correct when the top-1 class is among the image's labels) gives one pair per
image rather than per class: :func:`top1_pairs`.
"""
from typing import Tuple

import numpy as np

from .utils import Array, check_pair, sigmoid

#: Per-class probability mappings of :func:`class_probabilities`.
MAPPINGS = ('sigmoid', 'softmax', 'platt_cv')

#: Ridge on the Platt parameters: keeps the fit finite on separable data.
PLATT_RIDGE = 1e-4


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of ``(N, C)`` float64 logits."""
    top = logits.max(1, keepdims=True)
    shifted = logits - top
    return shifted - np.log(np.exp(shifted).sum(1, keepdims=True))


def fit_platt(logits: np.ndarray, labels: np.ndarray,
              ridge: float = PLATT_RIDGE, max_iter: int = 100
              ) -> Tuple[float, float]:
    """Slope and bias of ``sigmoid(a z + b)`` by penalised maximum likelihood.

    Minimises ``mean(log(1 + exp(s)) - y s) + ridge / 2 (a² + b²)`` with
    ``s = a z + b`` by Newton's method with a backtracking line search,
    starting from ``a = 0`` and ``b`` at the log-odds of the label mean.

    Args:
        logits (np.ndarray): logits ``(n,)``, float64.
        labels (np.ndarray): labels ``(n,)`` in {0, 1}.
        ridge (float): the penalty; > 0 keeps (a, b) finite when the
            logits separate the labels. Defaults to :data:`PLATT_RIDGE`.
        max_iter (int): Newton steps at most. Defaults to 100.

    Returns:
        tuple: ``(a, b)``.
    """
    if len(logits) == 0:
        raise ValueError('fit_platt needs at least one (logit, label) pair')
    x = np.stack([logits, np.ones_like(logits)])  # (2, n)
    prior = np.clip(labels.mean(), 1e-6, 1 - 1e-6)
    theta = np.array([0.0, np.log(prior / (1 - prior))])

    def objective(t: np.ndarray) -> float:
        s = t @ x
        return float(np.mean(np.logaddexp(0, s) - labels * s) +
                     ridge / 2 * t @ t)

    for _ in range(max_iter):
        p = sigmoid(theta @ x)
        grad = x @ (p - labels) / len(labels) + ridge * theta
        hess = (x * (p * (1 - p))) @ x.T / len(labels) + ridge * np.eye(2)
        step = np.linalg.solve(hess, grad)
        if grad @ step < 1e-20:
            break
        rate, current = 1.0, objective(theta)
        while (objective(theta - rate * step) > current - 1e-4 * rate *
               (grad @ step)) and rate > 1e-10:
            rate /= 2
        theta = theta - rate * step
    return float(theta[0]), float(theta[1])


def platt_cv_logits(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Cross-fitted Platt-scaled logits ``a z + b`` (see module notes).

    Args:
        logits (np.ndarray): float64 logits ``(N, C)``, N >= 2.
        targets (np.ndarray): labels ``(N, C)`` in {1, 0, -1}; -1 is not
            used for fitting.

    Returns:
        np.ndarray: ``(N, C)``; the rows of each fold (even / odd image
        index) mapped with the parameters fitted on the other fold.
    """
    if len(logits) < 2:
        raise ValueError(f"mapping 'platt_cv' needs at least 2 images to "
                         f'cross-fit, got {len(logits)}')
    fold = np.arange(len(logits)) % 2
    out = np.empty_like(logits)
    for k in (0, 1):
        z, y = logits[fold != k], targets[fold != k]
        known = y >= 0
        if not known.any():
            raise ValueError(f"mapping 'platt_cv': the images with index "
                             f'parity {1 - k} have no known label to fit on')
        a, b = fit_platt(z[known], (y[known] == 1).astype(np.float64))
        out[fold == k] = a * logits[fold == k] + b
    return out


def class_probabilities(logits: Array, targets: Array, mapping: str = 'sigmoid'
                        ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Probabilities, their complements and positive decisions per pair.

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1} (used by ``'platt_cv'``).
        mapping (str): one of :data:`MAPPINGS`.

    Returns:
        tuple: float64 ``p`` and ``1 - p`` (computed without cancellation)
        and the boolean decision ``p >= 0.5``, each ``(N, C)``. For
        ``'sigmoid'`` the decision is ``z >= 0`` exactly.
    """
    if mapping not in MAPPINGS:
        raise ValueError(f'mapping must be one of {MAPPINGS}, got '
                         f'{mapping!r}')
    logits, targets = check_pair(logits, targets)
    if mapping == 'softmax':
        log_p = _log_softmax(logits)
        return np.exp(log_p), -np.expm1(log_p), log_p >= np.log(0.5)
    if mapping == 'platt_cv':
        logits = platt_cv_logits(logits, targets)
    return sigmoid(logits), sigmoid(-logits), logits >= 0


def top1_pairs(logits: Array, targets: Array
               ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The DAC evaluator's reading: one (confidence, correct) pair per image.

    Softmax over the given classes; confidence = the largest probability;
    correct = the top-1 class (first on ties) is a known positive of the
    image. Images without a known positive are left out.

    Args:
        logits: logits ``(N, C)``.
        targets: labels ``(N, C)`` in {1, 0, -1}.

    Returns:
        tuple: float64 ``conf`` ``(N,)``, float64 ``correct`` ``(N,)`` and
        boolean ``include`` ``(N,)``.
    """
    logits, targets = check_pair(logits, targets)
    top = logits.argmax(1)  # (N,)
    conf = np.exp(_log_softmax(logits)[np.arange(len(logits)), top])
    correct = (targets[np.arange(len(logits)), top] == 1).astype(np.float64)
    return conf, correct, (targets == 1).any(1)
