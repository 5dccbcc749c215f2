"""Temperature scaling (post-hoc, fitted), global or per class.

Guo et al., "On Calibration of Modern Neural Networks", ICML 2017:
``z' = z / T`` with ``T > 0`` fitted by minimising the negative
log-likelihood (here the binary cross-entropy of every label) on held-out
data. ``T > 0`` keeps the sign of every logit, so predictions at threshold
0.5 and rankings (mAP) are unchanged.
"""
import logging
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor

from mmccr.registry import CALIBRATORS

from .base import BaseCalibrator

#: Fitted temperatures are clipped to this range (separable data would
#: otherwise drive T towards 0).
T_RANGE = (1e-2, 1e2)


def fit_temperature(logits: Tensor,
                    labels: Tensor,
                    per_class: bool = False,
                    max_iter: int = 200) -> Tensor:
    """Temperatures minimising the mean BCE of ``logits / T``.

    Optimises ``log T`` with L-BFGS in float64; labels of -1 are ignored.
    Per-class temperatures are fitted jointly, which is the same as fitting
    each column alone (the columns' losses are independent).

    Args:
        logits (Tensor): held-out logits ``(N, K)``.
        labels (Tensor): labels in {1, 0, -1} ``(N, K)``.
        per_class (bool): one temperature per column instead of one.
        max_iter (int): L-BFGS iterations. Defaults to 200.

    Returns:
        Tensor: temperatures ``(K,)`` or ``(1,)`` (float64), clipped to
        :data:`T_RANGE`.
    """
    if logits.shape != labels.shape or logits.dim() != 2:
        raise ValueError('logits and labels must both be (N, K), got '
                         f'{tuple(logits.shape)} and {tuple(labels.shape)}')
    valid = labels >= 0
    if not valid.any():
        raise ValueError('no labelled (0/1) entries to fit a temperature on')
    z, y = logits.detach().double(), labels.clamp(min=0).double()
    log_t = torch.zeros(z.shape[1] if per_class else 1, dtype=torch.float64,
                        requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=1, max_iter=max_iter,
                                  line_search_fn='strong_wolfe')

    def closure() -> Tensor:
        optimizer.zero_grad()
        nll = F.binary_cross_entropy_with_logits(
            z / log_t.exp(), y, reduction='none')[valid].mean()
        nll.backward()
        return nll

    optimizer.step(closure)
    temps = log_t.detach().exp()  # (K,) or (1,)
    clipped = ((temps <= T_RANGE[0]) | (temps >= T_RANGE[1])).nonzero()[:, 0]
    if len(clipped):
        which = 'the temperature' if temps.numel() == 1 else \
            f'the temperatures of columns {clipped.tolist()}'
        print_log(
            f'Temperature scaling: {which} reached the clip bound of '
            f'T_RANGE = {T_RANGE} (fitted {temps[clipped].tolist()}): the '
            'held-out logits have no finite optimum (uninformative or '
            'perfectly separable), so the calibrated confidences are not '
            'reliable. Check the fitting data (fit_dataloader, '
            'docs/calibrators.md).',
            logger='current', level=logging.WARNING)
    return temps.clamp(*T_RANGE)


@CALIBRATORS.register_module()
class TemperatureScaling(BaseCalibrator):
    """Divide logits by fitted temperatures.

    Fitted by :class:`~mmccr.engine.hooks.CalibratorFitHook` on held-out
    images of the training classes. With ``per_class=True`` every class
    that has both positives and negatives in the fitting data gets its own
    temperature; the others (including new classes never seen there) use
    the global temperature, which is always fitted.

    Args:
        per_class (bool): per-class temperatures. Defaults to False.
        max_iter (int): L-BFGS iterations. Defaults to 200.
    """

    needs_fit = True

    def __init__(self, per_class: bool = False, max_iter: int = 200) -> None:
        super().__init__()
        self.per_class = per_class
        self.max_iter = max_iter
        self.classnames: List[str] = []
        self.temperature: Optional[float] = None
        self.class_temperatures: Dict[str, float] = {}

    def set_classes(self, view) -> None:
        """Remember the class order for :meth:`calibrate`."""
        self.classnames = list(view.classnames)

    def fit(self, logits: Tensor, labels: Tensor,
            classnames: Sequence[str]) -> None:
        """Fit the global (and per-class) temperatures."""
        if logits.shape[1] != len(classnames):
            raise ValueError(f'{logits.shape[1]} logit columns for '
                             f'{len(classnames)} class names')
        self.temperature = float(
            fit_temperature(logits, labels, max_iter=self.max_iter))
        self.class_temperatures = {}
        if self.per_class:
            temps = fit_temperature(logits, labels, True, self.max_iter)
            both = ((labels == 1).any(0) & (labels == 0).any(0)).tolist()
            self.class_temperatures = {
                name: float(t)
                for name, t, ok in zip(classnames, temps.tolist(), both,
                                       strict=True) if ok
            }
        print_log(
            f'TemperatureScaling: T = {self.temperature:.4f} on '
            f'{logits.shape[0]} images × {logits.shape[1]} classes'
            + (f'; {len(self.class_temperatures)} per-class temperatures'
               if self.per_class else ''),
            logger='current')

    def temperatures(self) -> Tensor:
        """Temperatures of the current classes ``(C,)``."""
        if self.temperature is None:
            raise RuntimeError(
                'TemperatureScaling is not fitted: evaluate through the '
                "runner with dict(type='CalibratorFitHook') in custom_hooks "
                '(configs/_base_/default_runtime.py has it), or call fit().')
        return torch.tensor([
            self.class_temperatures.get(name, self.temperature)
            for name in self.classnames
        ])

    def calibrate(self, logits: Tensor) -> Tensor:
        """``logits / T`` per class ``(B, C)``."""
        temps = self.temperatures()
        if logits.shape[-1] != temps.numel():
            raise RuntimeError(
                f'TemperatureScaling knows {temps.numel()} classes but got '
                f'logits for {logits.shape[-1]}; set_classes() first.')
        return logits / temps.to(logits)

    def fit_state(self) -> Optional[dict]:
        """``temperature`` and ``class_temperatures`` (by class name)."""
        if self.temperature is None:
            return None
        return dict(temperature=self.temperature,
                    class_temperatures=dict(self.class_temperatures))

    def load_fit_state(self, state: dict) -> None:
        """Restore :meth:`fit_state`."""
        try:
            self.temperature = float(state['temperature'])
            self.class_temperatures = {
                str(k): float(v)
                for k, v in state.get('class_temperatures', {}).items()
            }
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(
                f'invalid TemperatureScaling state {state!r}: expected '
                "{'temperature': float, 'class_temperatures': "
                '{name: float}}') from err
