"""The multi-label classifier: frozen CLIP + prompt learner + calibrators."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from torch import Tensor

from mmccr.registry import CALIBRATORS, LOSSES, MODELS, PROMPT_LEARNERS

from ..backbones.clip import OPENAI_MEAN, OPENAI_STD
from ..prompt_learners.base import Features, LearnerOutput
from .cached_features import CachedFeatures
from .class_view import ClassView
from .data_preprocessor import is_captions


def clip_data_preprocessor(mean=OPENAI_MEAN, std=OPENAI_STD) -> dict:
    """Config of a :class:`CaptionOrImagePreprocessor` with CLIP
    normalisation.

    Images arrive as uint8 ``(B, 3, H, W)`` RGB tensors; the constants are
    on the 0-1 scale and are multiplied by 255 here. Caption batches (lists
    of strings) pass through unchanged.
    """
    return dict(
        type='mmccr.CaptionOrImagePreprocessor',
        mean=[255 * m for m in mean],
        std=[255 * s for s in std])


@MODELS.register_module()
class PromptClassifier(BaseModel):
    """Multi-label image classifier with a prompt-tuned frozen CLIP.

    ``output = learner(backbone, extract_feat(images))``: the learner turns
    the frozen features into a :class:`LearnerOutput` (logits ``(B, C)``
    whose sigmoid is the confidence, and the class text features used).

    * ``mode='loss'``: the base loss (from ``LOSSES``) on the logits, the
      learner's own terms (:meth:`BasePromptLearner.loss`, e.g. KgCoOp's)
      and every calibrator's train-time terms;
    * ``mode='predict'``: logits after every calibrator's
      :meth:`BaseCalibrator.calibrate`, one dict per sample with
      ``logits`` ``(C,)``, ``gt_label`` ``(C,)``, the image feature
      ``img_feat`` ``(D,)`` and ``sample_idx``;
    * ``mode='tensor'``: the raw logits ``(B, C)``.

    Calibrators see the model only through a :class:`ClassView`. A
    calibrator that needs tuned text features of arbitrary names (DAC,
    DOR, TextAnchor) with a learner that has none (class-specific
    contexts) is refused here, when the model is built.

    Only the learner (and calibrators, if they have parameters) train; the
    backbone is frozen and absent from checkpoints.

    The predicted classes are set with :meth:`set_classes`, which
    ``ClassSetHook`` calls with the ``prompt_names`` of the current loop's
    dataset (base classes while training, all classes when testing).

    Args:
        backbone (dict): config of the frozen backbone, e.g.
            ``dict(type='CLIPBackbone')``.
        learner (dict): config of a learner in ``PROMPT_LEARNERS``.
        loss (dict): config of the base loss in ``LOSSES``. Defaults to
            ``dict(type='BCELoss')``.
        calibrators (Sequence[dict]): configs in ``CALIBRATORS``, applied in
            order. Defaults to none.
        data_preprocessor (dict, optional): defaults to CLIP normalisation.
        classnames (Sequence[str], optional): classes to predict from the
            start, instead of waiting for :meth:`set_classes`.
        init_cfg (dict, optional): mmengine weight-init config.
    """

    def __init__(self,
                 backbone: dict,
                 learner: dict,
                 loss: dict = dict(type='BCELoss'),
                 calibrators: Sequence[dict] = (),
                 data_preprocessor: Optional[dict] = None,
                 classnames: Optional[Sequence[str]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor or clip_data_preprocessor(),
            init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.learner = PROMPT_LEARNERS.build(
            learner, default_args=dict(backbone=self.backbone))
        self.loss_fn = LOSSES.build(loss)
        self.calibrators = torch.nn.ModuleList(
            [CALIBRATORS.build(cfg) for cfg in calibrators])
        self._check_calibrators()
        self.classnames: List[str] = []
        self.view = ClassView(self.backbone, self.learner, [], [])
        # Classes the prompts were trained on; ClassSetHook records them
        # and keeps them in the checkpoints' meta.
        self.train_classnames: List[str] = []
        # Frozen features of whole datasets, by name; batches whose
        # data_samples name one skip the image tower (FeatureCacheHook).
        self.feature_caches: Dict[str, CachedFeatures] = {}
        if classnames is not None:
            self.set_classes(classnames)

    def _check_calibrators(self) -> None:
        """Refuse calibrators whose needs the learner cannot meet."""
        if self.learner.can_encode_names:
            return
        needy = [type(c).__name__ for c in self.calibrators
                 if c.needs_tuned_features]
        if needy:
            raise ValueError(
                f'{", ".join(needy)} need tuned text features of arbitrary '
                f'class names, which {type(self.learner).__name__} cannot '
                'give with this configuration (class-specific context: no '
                'prompt exists for a name outside the training classes). '
                'Use a unified context (class_specific=False) or other '
                'calibrators (CCR, temperature scaling).')

    @property
    def base_classnames(self) -> List[str]:
        """The classes the prompts were trained on."""
        return self.view.base_classnames

    def set_classes(self,
                    classnames: Sequence[str],
                    base_classnames: Optional[Sequence[str]] = None) -> None:
        """Predict ``classnames`` from now on (learner and calibrators).

        Args:
            classnames (Sequence[str]): the classes to predict, in order.
            base_classnames (Sequence[str], optional): the classes the
                prompts were trained on (post-hoc calibrators such as DAC
                treat the others as new). Defaults to ``classnames``.
        """
        classnames = list(classnames)
        base = list(base_classnames or classnames)
        if (classnames, base) != (self.classnames, self.base_classnames):
            self.learner.set_classes(classnames, self.backbone, base)
        self.classnames = classnames
        self.view = ClassView(self.backbone, self.learner, classnames, base)
        # Always re-prepare calibrators: DAC reads the current prompts.
        for calibrator in self.calibrators:
            calibrator.set_classes(self.view)

    def extract_feat(self, inputs: Union[Tensor, Sequence[str], dict]
                     ) -> Features:
        """Frozen features of normalised images ``(B, 3, H, W)``, of
        captions (a list of ``B`` strings, see :meth:`caption_features`),
        or of images with their captions (``dict(img=..., text=...)``:
        the image features with ``captions`` set).

        Global features always; dense tokens for learners that need them.
        """
        if is_captions(inputs):
            return self.caption_features(inputs)
        if isinstance(inputs, dict):  # generated images with their captions
            feats = self.extract_feat(inputs['img'])
            feats.captions = self.caption_features(inputs['text'])
            return feats
        if self.learner.needs_dense_features:
            pooled, tokens = self.backbone.encode_image_dense(inputs)
            return Features(pooled, tokens)
        return Features(self.backbone.encode_image(inputs))

    def caption_features(self, captions: Sequence[str]) -> Features:
        """Captions used as images (text-trained learners).

        The frozen text tower gives the end-of-text feature as the global
        feature and, for learners that need dense features, the per-token
        features with padding masked
        (:meth:`CLIPBackbone.encode_caption`); ``modality='text'``.
        """
        pooled, tokens, mask = self.backbone.encode_caption(captions)
        if not self.learner.needs_dense_features:
            return Features(pooled, modality='text')
        return Features(pooled, tokens, mask, modality='text')

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[dict] = None,
                mode: str = 'tensor',
                **kwargs) -> Union[Tensor, Dict[str, Tensor], List[dict]]:
        """Run the model in ``'loss'``, ``'predict'`` or ``'tensor'`` mode.

        Args:
            inputs (Tensor | list[str] | dict): normalised images
                ``(B, 3, H, W)``, ``B`` captions, or images with their
                captions (see :meth:`extract_feat`).
            data_samples (dict, optional): batched targets: ``gt_label``
                ``(B, C)`` with 1 / 0 / -1 (ignored) and ``sample_idx``
                ``(B,)``.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``.
            **kwargs: other keys of the batch (unused).
        """
        if not self.classnames:
            raise RuntimeError(
                'PromptClassifier has no classes: call set_classes() or add '
                "dict(type='ClassSetHook') to custom_hooks (it is in "
                'configs/_base_/default_runtime.py).')
        feats = self.cached_features(data_samples)
        if feats is None:
            feats = self.extract_feat(inputs)
        output = self.learner(self.backbone, feats)
        if mode == 'tensor':
            return output.logits
        if mode == 'loss':
            return self.loss(output, data_samples['gt_label'])
        if mode == 'predict':
            return self._predictions(output.logits, feats.pooled,
                                     data_samples)
        raise ValueError(f'Invalid mode {mode!r}')

    def cached_features(self,
                        data_samples: Optional[dict]) -> Optional[Features]:
        """The batch's frozen features from the feature cache it names.

        Args:
            data_samples (dict, optional): a batch's targets; batches packed
                by ``CachedFeatureInputs`` carry ``feature_cache`` (the
                cache's name, per sample), ``sample_idx`` (rows) and
                ``feature_view`` (0: image, 1: its flip).

        Returns:
            Features: float32 features on the model's device, or None when
            the batch names no cache (its images are encoded).
        """
        names = (data_samples or {}).get('feature_cache')
        if names is None:
            return None
        if len(set(names)) != 1 or names[0] not in self.feature_caches:
            raise KeyError(
                f'batch names feature caches {sorted(set(names))}, but the '
                f'model holds {sorted(self.feature_caches)}: '
                'CachedFeatureInputs is only for datasets that '
                'FeatureCacheHook prepared.')
        return self.feature_caches[names[0]].features(
            data_samples['sample_idx'], data_samples['feature_view'],
            self.backbone.token_embedding.weight.device,
            self.learner.needs_dense_features)

    def loss(self, output: LearnerOutput, labels: Tensor) -> Dict[str, Tensor]:
        """Base loss, the learner's own terms and the calibrators' terms.

        The base loss is applied to each of the learner's
        :meth:`~BasePromptLearner.loss_branches` (the logits, as
        ``loss_cls``, for all but multi-branch learners).

        Args:
            output (LearnerOutput): the learner's output for the batch.
            labels (Tensor): labels in {1, 0, -1} ``(B, C)``.

        Returns:
            dict: named terms; those whose key contains ``'loss'`` are
            summed by mmengine.
        """
        labels = labels.to(output.logits.device)
        losses = {
            f'loss_{name}': weight * self.loss_fn(logits, labels)
            for name, (logits, weight) in self.learner.loss_branches(
                output).items()
        }
        terms = [self.learner.loss(output, labels, self.backbone)]
        terms += [c.loss(output, labels, self.view) for c in self.calibrators]
        for term in terms:
            clash = losses.keys() & term.keys()
            if clash:
                raise KeyError(f'loss terms {sorted(clash)} are returned '
                               'twice (learner and calibrators must use '
                               'distinct names).')
            losses.update(term)
        return losses

    def _predictions(self, logits: Tensor, img_feat: Tensor,
                     data_samples: Optional[dict]) -> List[dict]:
        for calibrator in self.calibrators:
            logits = calibrator.calibrate(logits)
        logits, img_feat = logits.detach().float(), img_feat.detach().float()
        results = []
        for i in range(logits.shape[0]):
            result = dict(logits=logits[i], img_feat=img_feat[i])
            if data_samples is not None:
                result['gt_label'] = data_samples['gt_label'][i]
                result['sample_idx'] = data_samples['sample_idx'][i]
            results.append(result)
        return results
