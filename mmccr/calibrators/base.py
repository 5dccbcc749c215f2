"""The calibrator interface.

A calibrator is one of two kinds (or both):

* a **train-time regulariser** returns extra loss terms from :meth:`loss`
  while the model trains (CCR, DOR, the KgCoOp-style text anchor);
* a **post-hoc calibrator** rewrites logits in :meth:`calibrate` at test
  time (DAC, temperature scaling). Post-hoc calibrators with
  ``needs_fit = True`` are fitted on held-out logits by
  :class:`~mmccr.engine.hooks.CalibratorFitHook` before evaluation; their
  fitted state is plain JSON (:meth:`fit_state`), stored beside the
  checkpoint, never in it.

Calibrators keep no persistent tensors: a checkpoint trained with one set
of calibrators can be evaluated with another.

The classifier calls :meth:`set_classes` whenever the set of predicted
classes changes (base classes while training, all classes at test time)
and passes itself, so a calibrator can read:

* ``model.classnames`` — the current classes ``C``;
* ``model.base_classnames`` — the classes the prompts were trained on;
* ``model.zero_shot_features(names)`` — frozen hand-crafted-prompt text
  features ``(N, D)``, unit norm;
* ``model.tuned_text_features(names)`` — text features of ``names`` through
  the learned prompts ``(N, D)``, unit norm, differentiable.
"""
from typing import Dict, Optional, Sequence

from torch import Tensor, nn


class BaseCalibrator(nn.Module):
    """Base class of calibrators: by default does nothing."""

    #: Whether :meth:`fit` must run on held-out data before :meth:`calibrate`.
    needs_fit: bool = False

    def set_classes(self, model) -> None:
        """Prepare for predicting ``model.classnames``.

        Args:
            model (PromptClassifier): the classifier, after its classes and
                prompts are set (see the module docstring for what it
                offers).
        """

    def loss(self, logits: Tensor, labels: Tensor,
             model) -> Dict[str, Tensor]:
        """Extra training loss terms.

        Args:
            logits (Tensor): logits of the batch ``(B, C)``.
            labels (Tensor): labels in {1, 0, -1} ``(B, C)``.
            model (PromptClassifier): the classifier (for text features).

        Returns:
            dict: loss terms; keys that contain ``'loss'`` are summed into
            the total loss by mmengine, others are only logged.
        """
        return {}

    def calibrate(self, logits: Tensor) -> Tensor:
        """Post-hoc transform of test logits ``(B, C)`` (identity here)."""
        return logits

    def fit(self, logits: Tensor, labels: Tensor,
            classnames: Sequence[str]) -> None:
        """Fit on held-out data (only for ``needs_fit`` calibrators).

        Args:
            logits (Tensor): held-out logits ``(N, K)``, already passed
                through the calibrators before this one.
            labels (Tensor): labels in {1, 0, -1} ``(N, K)``.
            classnames (Sequence[str]): the ``K`` classes of the columns;
                they may differ from the classes predicted at test time.
        """
        raise NotImplementedError(
            f'{type(self).__name__} has nothing to fit')

    def fit_state(self) -> Optional[dict]:
        """The fitted state as JSON-able data, None while unfitted."""
        return None

    def load_fit_state(self, state: dict) -> None:
        """Restore a state returned by :meth:`fit_state`."""
        raise NotImplementedError(
            f'{type(self).__name__} has no fitted state')
