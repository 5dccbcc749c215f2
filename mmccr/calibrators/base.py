"""The calibrator interface.

A calibrator is one of two kinds (or both):

* a **train-time regulariser** returns extra loss terms from :meth:`loss`
  while the model trains (CCR);
* a **post-hoc calibrator** rewrites logits in :meth:`calibrate` at test
  time.

The classifier calls :meth:`set_classes` whenever the set of predicted
classes changes (base classes while training, all classes at test time)
with the frozen zero-shot text features of those classes.
"""
from typing import Dict, Sequence

from torch import Tensor, nn


class BaseCalibrator(nn.Module):
    """Base class of calibrators: by default does nothing."""

    def set_classes(self, classnames: Sequence[str],
                    zero_shot_features: Tensor) -> None:
        """Prepare for predicting ``classnames``.

        Args:
            classnames (Sequence[str]): names of the predicted classes.
            zero_shot_features (Tensor): unit-norm frozen text features of
                those classes ``(C, D)``.
        """

    def loss(self, logits: Tensor, labels: Tensor) -> Dict[str, Tensor]:
        """Extra training loss terms.

        Args:
            logits (Tensor): logits of the batch ``(B, C)``.
            labels (Tensor): labels in {1, 0, -1} ``(B, C)``.

        Returns:
            dict: loss terms; keys that contain ``'loss'`` are summed into
            the total loss by mmengine, others are only logged.
        """
        return {}

    def calibrate(self, logits: Tensor) -> Tensor:
        """Post-hoc transform of test logits ``(B, C)`` (identity here)."""
        return logits
