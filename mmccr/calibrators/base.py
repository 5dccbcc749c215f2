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
classes changes (base classes while training, all classes at test time).
A calibrator never sees the model: it gets a
:class:`~mmccr.models.ClassView` with

* ``view.classnames`` — the current classes ``C``;
* ``view.base_classnames`` — the classes the prompts were trained on;
* ``view.zero_shot_features(names)`` — frozen hand-crafted-prompt text
  features ``(N, D)``, unit norm;
* ``view.tuned_features(names)`` — text features of ``names`` through the
  learned prompts ``(N, D)``, unit norm, differentiable; only for
  calibrators that declare ``needs_tuned_features`` (the classifier refuses
  a learner that cannot give them when the model is built);

and, while training, the learner's :class:`~mmccr.models.LearnerOutput` of
the batch (logits and the class text features the learner used).
"""
from typing import Dict, Optional, Sequence

from torch import Tensor, nn


class BaseCalibrator(nn.Module):
    """Base class of calibrators: by default does nothing."""

    #: Whether :meth:`fit` must run on held-out data before :meth:`calibrate`.
    needs_fit: bool = False
    #: Whether it reads ``view.tuned_features`` (tuned text features of
    #: arbitrary names).
    needs_tuned_features: bool = False

    def set_classes(self, view) -> None:
        """Prepare for predicting ``view.classnames``.

        Args:
            view (ClassView): the model's classes and text features, after
                its classes and prompts are set.
        """

    def loss(self, output, labels: Tensor, view) -> Dict[str, Tensor]:
        """Extra training loss terms.

        Args:
            output (LearnerOutput): the learner's output for the batch:
                ``output.logits`` ``(B, C)`` and ``output.text_features``.
            labels (Tensor): labels in {1, 0, -1} ``(B, C)``.
            view (ClassView): the model's classes and text features.

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
