"""The learner contract: what every prompt learner takes and returns.

A prompt learner owns its prompts, its logits and any loss term that
defines its method: given the frozen backbone and the frozen features of a
batch (:class:`Features`), it returns a :class:`LearnerOutput`. The
backbone owns the frozen encoders; the learner owns the trainable
parameters.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

T = TypeVar('T')


@dataclass
class Features:
    """Frozen encoder features of a batch, whatever their modality.

    Images give their global feature and projected dense (patch) tokens;
    captions (text-trained learners) give their end-of-text feature and
    their per-token features.

    Attributes:
        pooled (Tensor): global features ``(B, D)``.
        tokens (Tensor, optional): dense token features ``(B, L, D)``,
            present only for learners with ``needs_dense_features``.
        token_mask (Tensor, optional): ``(B, L)`` bool, True for real
            tokens; None when every token is real (images).
        modality (str): ``'image'`` or ``'text'`` (captions), for learners
            whose constants differ between the two (TaI-DPT's spatial
            temperatures).
        captions (Features, optional): features of the captions the
            images were generated from, when a batch pairs them (T2I-PAL);
            learners that do not use them ignore them.
    """
    pooled: Tensor
    tokens: Optional[Tensor] = None
    token_mask: Optional[Tensor] = None
    modality: str = 'image'
    captions: Optional['Features'] = None


@dataclass
class LearnerOutput:
    """What a learner returns for a batch.

    Attributes:
        logits (Tensor): ``(B, C)``; ``sigmoid(logits)`` is the confidence
            that a class is present, for every learner (learners with
            positive and negative prompts return their difference).
        text_features (Tensor): the unit-norm class text features the
            logits were computed with, ``(C, D)``, or ``(B, C, D)`` for
            image-conditioned prompts. Differentiable with respect to the
            prompts, so learner-owned and calibrator losses reuse them
            instead of running the text encoder again.
        extras (dict): further named tensors of a learner (e.g. DualCoOp's
            negative-prompt features), for its own loss or for analysis.
    """
    logits: Tensor
    text_features: Tensor
    extras: Dict[str, Tensor] = field(default_factory=dict)


class PromptTokens(nn.Module):
    """Token ids and frozen embeddings of ``"X X ... X {name}."`` prompts.

    The template is embedded once; learned context later replaces the
    ``n_ctx`` placeholder positions. Kept as non-persistent buffers: they
    are rebuilt from the class names, never saved.

    Args:
        backbone: the frozen :class:`CLIPBackbone`.
        classnames (Sequence[str]): names put into the prompts.
        n_ctx (int): number of context positions after the start token.
    """

    def __init__(self, backbone, classnames: Sequence[str],
                 n_ctx: int) -> None:
        super().__init__()
        placeholder = ' '.join(['X'] * n_ctx)
        texts = [f'{placeholder} {name}.'.strip() for name in classnames]
        token_ids = backbone.tokenize(texts)  # (C, L)
        with torch.no_grad():
            embeds = backbone.token_embedding(token_ids)  # (C, L, W)
        eot = token_ids.argmax(dim=-1)
        self.n_ctx = n_ctx
        # Name length: positions between the context and the final '.'.
        self.name_lens: List[int] = (eot - n_ctx - 2).tolist()
        self.register_buffer('token_ids', token_ids, persistent=False)
        self.register_buffer('prefix', embeds[:, :1], persistent=False)
        self.register_buffer(
            'suffix', embeds[:, 1 + n_ctx:], persistent=False)
        length = token_ids.shape[1]
        for position in ('middle', 'front'):
            self.register_buffer(f'order_{position}',
                                 self._order(position, length),
                                 persistent=False)

    def _order(self, position: str, length: int) -> Tensor:
        """Per-class source index of every output position ``(C, L)``.

        Prompts are first built with the name at the end, ``[SOT | ctx |
        name | rest]``; this permutation moves the name in front of the
        context (``'front'``) or between its halves (``'middle'``). The
        end-of-text token keeps its position, so ``token_ids`` still
        locates it.
        """
        half = self.n_ctx // 2 if position == 'middle' else 0
        ctx = list(range(1, 1 + self.n_ctx))
        rows = []
        for name_len in self.name_lens:
            name = list(range(1 + self.n_ctx, 1 + self.n_ctx + name_len))
            rest = list(range(1 + self.n_ctx + name_len, length))
            rows.append([0] + ctx[:half] + name + ctx[half:] + rest)
        return torch.tensor(rows, dtype=torch.long)

    def __len__(self) -> int:
        return self.token_ids.shape[0]

    def assemble(self, ctx: Tensor, position: str = 'end') -> Tensor:
        """Build prompt embeddings from context vectors.

        Args:
            ctx (Tensor): context ``(n_ctx, W)`` shared by all classes,
                ``(C, n_ctx, W)`` with one context per class, or
                ``(B, C, n_ctx, W)`` with one context per image and class
                (image-conditioned prompts).
            position (str): where the class name goes: ``'end'`` (after the
                context), ``'front'`` or ``'middle'``.

        Returns:
            Tensor: prompt embeddings ``(C, L, W)``, or ``(B, C, L, W)``
            for per-image context.
        """
        num_cls = len(self)
        if ctx.dim() == 2:
            ctx = ctx.unsqueeze(0).expand(num_cls, -1, -1)
        if ctx.dim() not in (3, 4) or ctx.shape[-3] != num_cls:
            raise ValueError(
                f'context of shape {tuple(ctx.shape)} does not fit {num_cls} '
                'classes: expected (n_ctx, W), (C, n_ctx, W) or '
                '(B, C, n_ctx, W).')
        ctx = ctx.to(self.prefix.dtype)
        lead = ctx.shape[:-2]  # (C,) or (B, C)
        prompts = torch.cat([
            self.prefix.expand(*lead, -1, -1), ctx,
            self.suffix.expand(*lead, -1, -1)
        ], dim=-2)  # (..., C, L, W), name at the end
        if position == 'end':
            return prompts
        order = getattr(self, f'order_{position}')  # (C, L)
        index = order.expand(*lead, -1).unsqueeze(-1).expand_as(prompts)
        return prompts.gather(-2, index)


class BasePromptLearner(nn.Module):
    """Base class of prompt learners.

    A subclass implements :meth:`set_classes` (build whatever depends on the
    class names: frozen tokens, never parameters) and
    :meth:`class_features`; the default :meth:`forward` turns the class
    features into cosine logits ``scale · cos + bias``. A learner whose
    method has its own loss term overrides :meth:`loss`; a learner that can
    put any name through its learned prompts implements
    :meth:`tuned_features` and sets ``can_encode_names``.

    Trainable parameters are created in ``__init__`` only: the optimizer
    is built before the classes are set, and parameters created later
    would never be trained (``ClassSetHook`` stops such a run).

    Args:
        logit_scale (float, optional): multiplier of the cosine
            similarities; None (default) takes the backbone's learned scale
            (``CLIPBackbone.logit_scale``, 100 for OpenAI's weights).
        logit_bias (float, optional): added to every logit; None (default)
            takes the backbone's learned bias (SigLIP-style models), 0 for
            models without one.
    """

    #: Whether :meth:`forward` needs dense token features.
    needs_dense_features: bool = False
    #: Whether the class text features depend on the image (CoCoOp); such
    #: learners encode their prompts for every batch, also when evaluating.
    image_conditioned: bool = False
    #: Whether an evaluation encodes the class text once and reuses it for
    #: every batch (see :meth:`once_per_evaluation`); False re-encodes per
    #: batch (the reference path of the benchmarks and tests).
    reuse_eval_text: bool = True

    def __init__(self,
                 logit_scale: Optional[float] = None,
                 logit_bias: Optional[float] = None) -> None:
        super().__init__()
        self.logit_scale = None if logit_scale is None else float(
            logit_scale)
        self.logit_bias = None if logit_bias is None else float(logit_bias)
        self.classnames: List[str] = []
        self.base_classnames: List[str] = []
        self._eval_memo: Optional[tuple] = None

    @property
    def can_encode_names(self) -> bool:
        """Whether :meth:`tuned_features` works for arbitrary names."""
        return type(self).tuned_features is not \
            BasePromptLearner.tuned_features

    def set_classes(self,
                    classnames: Sequence[str],
                    backbone,
                    base_classnames: Optional[Sequence[str]] = None) -> None:
        """Make the learner predict ``classnames`` (in this order).

        Subclasses extend this (call ``super().set_classes(...)``) to build
        the frozen tokens of the names.

        Args:
            classnames (Sequence[str]): the classes to predict.
            backbone: the frozen :class:`CLIPBackbone`.
            base_classnames (Sequence[str], optional): the classes the
                prompts were (or are being) trained on. Defaults to
                ``classnames``.
        """
        self.classnames = list(classnames)
        self.base_classnames = list(base_classnames or classnames)
        self._eval_memo = None

    def train(self, mode: bool = True) -> 'BasePromptLearner':
        """Set the mode; forget the text features of the last evaluation."""
        self._eval_memo = None
        return super().train(mode)

    def _text_state(self, backbone) -> tuple:
        """What the class text features depend on: the backbone, the names
        and every parameter (its storage and in-place version, which an
        optimizer step or ``load_state_dict`` bumps)."""
        params = tuple((p.data_ptr(), p._version) for p in self.parameters())
        return id(backbone), tuple(self.classnames), params

    def once_per_evaluation(self, backbone, compute: Callable[[], T]) -> T:
        """``compute()`` once per evaluation, reused for later batches.

        Class text features of an image-independent learner are the same for
        every batch of an evaluation, so the text transformer runs for the
        first batch only. The result is kept while the learner is in eval
        mode under ``torch.no_grad`` and the backbone, class names and
        parameters are unchanged; :meth:`train` and :meth:`set_classes`
        drop it. Each process of a distributed run keeps its own copy
        (evaluation involves no collective here). While training, with
        gradients enabled, for image-conditioned learners or with
        ``reuse_eval_text = False``, ``compute()`` runs every call.

        Args:
            backbone: the frozen :class:`CLIPBackbone` the features use.
            compute (Callable): computes the class text features.

        Returns:
            what ``compute()`` returns.
        """
        if self.training or torch.is_grad_enabled() or \
                self.image_conditioned or not self.reuse_eval_text:
            return compute()
        state = self._text_state(backbone)
        if self._eval_memo is None or self._eval_memo[0] != state:
            self._eval_memo = (state, compute())
        return self._eval_memo[1]

    def class_features(self, backbone, features: Features) -> Tensor:
        """Tuned class text features ``(C, D)`` or per image ``(B, C, D)``."""
        raise NotImplementedError

    def tuned_features(self,
                       backbone,
                       names: Sequence[str],
                       features: Optional[Features] = None) -> Tensor:
        """Text features of arbitrary ``names`` through the learned prompts.

        Used by calibrators that compare tuned and zero-shot text features
        (DAC, DOR, the text anchor).

        Args:
            backbone: the frozen :class:`CLIPBackbone`.
            names (Sequence[str]): the names to encode.
            features (Features, optional): image features to condition on,
                for image-conditioned learners.

        Returns:
            Tensor: unnormalised text features ``(N, D)``, differentiable
            with respect to the learner's parameters.
        """
        raise NotImplementedError(
            f'{type(self).__name__} cannot put arbitrary names through its '
            'prompts, so it cannot be combined with calibrators that need '
            'tuned text features (DAC, DOR, TextAnchor).')

    def scores(self, backbone, image: Tensor, text: Tensor) -> Tensor:
        """``scale · cos + bias`` of unit-norm features.

        Args:
            backbone: the frozen :class:`CLIPBackbone` (for its learned
                scale and bias).
            image (Tensor): unit-norm features ``(B, D)`` (or ``(B, L, D)``).
            text (Tensor): unit-norm class features ``(C, D)`` or per image
                ``(B, C, D)``.

        Returns:
            Tensor: ``(B, C)`` (or ``(B, L, C)``).
        """
        scale, bias = self.scale_and_bias(backbone)
        image = image.to(text.dtype)
        if text.dim() == 3:  # image-conditioned prompts
            cos = torch.einsum('b...d,bcd->b...c', image, text)
        else:
            cos = image @ text.t()
        return scale * cos + bias

    def scale_and_bias(self, backbone) -> Tuple[float, float]:
        """The logit scale and bias in use (own values or the backbone's)."""
        scale = backbone.logit_scale if self.logit_scale is None \
            else self.logit_scale
        bias = self.logit_bias
        if bias is None:
            bias = backbone.logit_bias or 0.
        return scale, bias

    def forward(self, backbone, features: Features) -> LearnerOutput:
        """Cosine logits of every image against every class."""
        text = self.once_per_evaluation(backbone, lambda: F.normalize(
            self.class_features(backbone, features).float(), dim=-1))
        image = F.normalize(features.pooled.float(), dim=-1)
        return LearnerOutput(self.scores(backbone, image, text), text)

    def loss_branches(
            self, output: LearnerOutput) -> Dict[str, Tuple[Tensor, float]]:
        """The logits the classifier's base loss is applied to, by name.

        ``{'cls': (output.logits, 1.)}`` by default (one term,
        ``loss_cls``); learners with several scoring branches trained
        separately (TaI-DPT, TaI++) return one ``(logits, weight)`` per
        branch, giving the terms ``loss_<name> = weight · loss(logits)``.
        """
        return dict(cls=(output.logits, 1.))

    def loss(self, output: LearnerOutput, labels: Tensor,
             backbone) -> Dict[str, Tensor]:
        """Loss terms that define the method (none by default).

        They are part of the learner, not of the swappable calibrator list:
        a KgCoOp run keeps its regulariser whatever calibrators are used.

        Args:
            output (LearnerOutput): this batch's output.
            labels (Tensor): labels in {1, 0, -1} ``(B, C)``.
            backbone: the frozen :class:`CLIPBackbone`.

        Returns:
            dict: loss terms (keys containing ``'loss'`` are summed).
        """
        return {}


def training_slots(classnames: Sequence[str], base: Sequence[str],
                   capacity: int, owner: str) -> List[int]:
    """Slot of each class in per-training-class parameters, -1 if none.

    Learners with parameters per training class (TaI++'s pseudo-visual
    prompts, T2I-PAL's prototypes) hold ``capacity`` slots, filled in the
    order of the training classes; other classes (new classes) have none.

    Raises:
        ValueError: more training classes than slots, naming the key.
    """
    if len(base) > capacity:
        raise ValueError(
            f'{owner}: {len(base)} training classes but parameters for '
            f'{capacity}: set model.learner.num_classes to at least '
            f'{len(base)}.')
    return [list(base).index(n) if n in base else -1 for n in classnames]
