"""The multi-label classifier: frozen CLIP + prompt learner + calibrators."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import Tensor

from mmccr.registry import CALIBRATORS, LOSSES, MODELS, PROMPT_LEARNERS

from ..backbones.clip import OPENAI_MEAN, OPENAI_STD
from ..prompt_learners.base import ImageFeatures


def clip_data_preprocessor(mean=OPENAI_MEAN, std=OPENAI_STD) -> dict:
    """Config of an ``ImgDataPreprocessor`` with CLIP normalisation.

    Images arrive as uint8 ``(B, 3, H, W)`` RGB tensors; the constants are
    on the 0-1 scale and are multiplied by 255 here.
    """
    return dict(
        type='ImgDataPreprocessor',
        mean=[255 * m for m in mean],
        std=[255 * s for s in std])


@MODELS.register_module()
class PromptClassifier(BaseModel):
    """Multi-label image classifier with a prompt-tuned frozen CLIP.

    ``logits = learner(backbone, backbone.encode_image(images))``; the
    learner decides how prompts become class text features and logits.

    * ``mode='loss'``: the base loss (from ``LOSSES``) plus every term the
      calibrators return from :meth:`BaseCalibrator.loss`;
    * ``mode='predict'``: logits after every calibrator's
      :meth:`BaseCalibrator.calibrate`, one dict per sample with
      ``logits`` ``(C,)``, ``gt_label`` ``(C,)``, the image feature
      ``img_feat`` ``(D,)`` and ``sample_idx``;
    * ``mode='tensor'``: the raw logits ``(B, C)``.

    Only the learner (and calibrators, if they have parameters) train; the
    backbone is frozen and absent from checkpoints.

    The predicted classes are set with :meth:`set_classes`, which
    ``ClassSetHook`` calls with the ``prompt_names`` of the current loop's
    dataset (base classes while training, all classes when testing).

    Args:
        backbone (dict): config of the frozen backbone, e.g.
            ``dict(type='CLIPBackbone')``.
        prompt_learner (dict): config of a learner in ``PROMPT_LEARNERS``.
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
                 prompt_learner: dict,
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
            prompt_learner, default_args=dict(backbone=self.backbone))
        self.loss_fn = LOSSES.build(loss)
        self.calibrators = torch.nn.ModuleList(
            [CALIBRATORS.build(cfg) for cfg in calibrators])
        self.classnames: List[str] = []
        self.base_classnames: List[str] = []
        # Classes the prompts were trained on; ClassSetHook records them
        # and keeps them in the checkpoints' meta.
        self.train_classnames: List[str] = []
        if classnames is not None:
            self.set_classes(classnames)

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
        if classnames != self.classnames:
            self.learner.set_classes(classnames, self.backbone)
        self.classnames = classnames
        self.base_classnames = list(base_classnames or classnames)
        # Always re-prepare calibrators: DAC reads the current prompts.
        for calibrator in self.calibrators:
            calibrator.set_classes(self)

    def zero_shot_features(self,
                           names: Optional[Sequence[str]] = None,
                           cache: bool = True) -> Tensor:
        """Frozen hand-crafted-prompt text features ``(N, D)``, unit norm.

        Args:
            names (Sequence[str], optional): defaults to the current classes.
            cache (bool): keep the result for later calls. Defaults to True.
        """
        return self.backbone.zero_shot_text_features(
            self.classnames if names is None else list(names), cache=cache)

    def tuned_text_features(self,
                            names: Optional[Sequence[str]] = None) -> Tensor:
        """Text features of ``names`` through the learned prompts ``(N, D)``.

        Unit norm and differentiable with respect to the prompts.

        Args:
            names (Sequence[str], optional): defaults to the current classes.
        """
        names = self.classnames if names is None else list(names)
        return F.normalize(
            self.learner.encode_names(self.backbone, names).float(), dim=-1)

    def extract_feat(self, inputs: Tensor) -> ImageFeatures:
        """Frozen image features of normalised images ``(B, 3, H, W)``."""
        if self.learner.needs_dense_features:
            pooled, tokens = self.backbone.encode_image_dense(inputs)
            return ImageFeatures(pooled, tokens)
        return ImageFeatures(self.backbone.encode_image(inputs))

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[dict] = None,
                mode: str = 'tensor',
                **kwargs) -> Union[Tensor, Dict[str, Tensor], List[dict]]:
        """Run the model in ``'loss'``, ``'predict'`` or ``'tensor'`` mode.

        Args:
            inputs (Tensor): normalised images ``(B, 3, H, W)``.
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
        feats = self.extract_feat(inputs)
        logits = self.learner(self.backbone, feats)
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            labels = data_samples['gt_label'].to(logits.device)
            losses = {'loss_cls': self.loss_fn(logits, labels)}
            for calibrator in self.calibrators:
                losses.update(calibrator.loss(logits, labels, self))
            return losses
        if mode == 'predict':
            return self._predictions(logits, feats.pooled, data_samples)
        raise ValueError(f'Invalid mode {mode!r}')

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
