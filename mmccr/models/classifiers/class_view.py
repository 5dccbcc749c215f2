"""The narrow view of a model that calibrators get."""
from typing import List, Optional, Sequence

import torch.nn.functional as F
from torch import Tensor

from ..backbones.stored_text import stored_zero_shot_features
from ..prompt_learners.base import Features


class ClassView:
    """What a calibrator may read about the classes and prompts of a model.

    Created by :class:`PromptClassifier` whenever its classes change and
    handed to every calibrator's ``set_classes`` and ``loss``. It exposes
    names and text features, never the model itself.

    Attributes:
        classnames (list[str]): the classes predicted now, ``C``.
        base_classnames (list[str]): the classes the prompts were trained
            on (the others are "new").
    """

    def __init__(self, backbone, learner, classnames: Sequence[str],
                 base_classnames: Sequence[str]) -> None:
        self._backbone = backbone
        self._learner = learner
        self.classnames: List[str] = list(classnames)
        self.base_classnames: List[str] = list(base_classnames)

    def zero_shot_features(self,
                           names: Optional[Sequence[str]] = None,
                           cache: bool = True) -> Tensor:
        """Frozen hand-crafted-prompt text features ``(N, D)``, unit norm.

        Args:
            names (Sequence[str], optional): defaults to :attr:`classnames`.
            cache (bool): keep the result for later calls (off for one-off
                batches of many names). Defaults to True.
        """
        names = self.classnames if names is None else list(names)
        return self._backbone.zero_shot_features(names, cache=cache)

    def vocabulary_features(self, names: Sequence[str],
                            chunk_size: int = 1024) -> Tensor:
        """Zero-shot features ``(N, D)`` of a large vocabulary, unit norm.

        Like :meth:`zero_shot_features`, but computed in chunks of
        ``chunk_size`` names and kept on disk across runs
        (:func:`~mmccr.models.backbones.stored_text.stored_zero_shot_features`).
        """
        return stored_zero_shot_features(self._backbone, names, chunk_size)

    def tuned_features(self,
                       names: Optional[Sequence[str]] = None,
                       features: Optional[Features] = None) -> Tensor:
        """Text features of ``names`` through the learned prompts.

        Only for calibrators with ``needs_tuned_features`` (the classifier
        checks at build time that its learner provides them).

        Args:
            names (Sequence[str], optional): defaults to :attr:`classnames`.
            features (Features, optional): image features to condition on
                (image-conditioned learners; others ignore them).

        Returns:
            Tensor: unit-norm features ``(N, D)`` (``(B, N, D)`` when an
            image-conditioned learner is given ``features``),
            differentiable with respect to the prompts.
        """
        names = self.classnames if names is None else list(names)
        feats = self._learner.tuned_features(self._backbone, names, features)
        return F.normalize(feats.float(), dim=-1)
