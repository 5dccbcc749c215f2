"""CoOp: learned context vectors in front of the class name.

Zhou et al., "Learning to Prompt for Vision-Language Models", IJCV 2022.
"""
from typing import Optional, Sequence

import torch
from torch import Tensor, nn

from mmccr.registry import PROMPT_LEARNERS

from .base import BasePromptLearner, ImageFeatures, PromptTokens

_POSITIONS = ('end', 'middle', 'front')


@PROMPT_LEARNERS.register_module()
class CoOp(BasePromptLearner):
    """Context Optimization.

    Prompts are ``[SOT] ctx_1 ... ctx_n {class name} . [EOT]``, with the
    class name moved to the front or middle on request.

    Args:
        backbone: the frozen :class:`CLIPBackbone` (read for the width and
            the initial context; not stored).
        n_ctx (int): number of context vectors. Ignored with ``ctx_init``,
            which sets it to the phrase's token count. Defaults to 16.
        ctx_init (str, optional): phrase whose word embeddings initialise the
            context, e.g. ``'a photo of a'``. Defaults to None (random
            normal with ``init_std``).
        class_specific (bool): one context per class (CSC) instead of one
            shared ("unified") context. Needs ``num_classes``. Defaults to
            False.
        num_classes (int, optional): number of classes for CSC.
        class_token_position (str): ``'end'``, ``'middle'`` or ``'front'``.
            Defaults to ``'end'``.
        init_std (float): std of the random initialisation. Defaults to 0.02.
        logit_scale (float, optional): cosine multiplier; None takes the
            backbone's learned scale. Defaults to 100.
    """

    def __init__(self,
                 backbone,
                 n_ctx: int = 16,
                 ctx_init: Optional[str] = None,
                 class_specific: bool = False,
                 num_classes: Optional[int] = None,
                 class_token_position: str = 'end',
                 init_std: float = 0.02,
                 logit_scale: Optional[float] = 100.) -> None:
        super().__init__(logit_scale=logit_scale)
        if class_token_position not in _POSITIONS:
            raise ValueError(f'class_token_position must be one of '
                             f'{_POSITIONS}, got {class_token_position!r}')
        if class_specific and not num_classes:
            raise ValueError('class_specific=True needs num_classes')
        self.class_token_position = class_token_position
        self.num_classes = num_classes if class_specific else None
        width = backbone.token_embedding.embedding_dim
        if ctx_init:
            ids = backbone.tokenize(ctx_init.replace('_', ' '))
            n_ctx = int(ids.argmax(dim=-1)) - 1  # tokens between SOT and EOT
            with torch.no_grad():
                init = backbone.token_embedding(ids)[0, 1:1 + n_ctx].clone()
            if class_specific:
                init = init.unsqueeze(0).repeat(num_classes, 1, 1)
        else:
            shape = (num_classes, n_ctx, width) if class_specific else (
                n_ctx, width)
            init = torch.empty(shape).normal_(std=init_std)
        self.n_ctx = n_ctx
        self.ctx = nn.Parameter(init.float())
        self.tokens: Optional[PromptTokens] = None

    def set_classes(self, classnames: Sequence[str], backbone) -> None:
        """Rebuild the frozen prompt tokens for ``classnames``."""
        if self.num_classes is not None and len(
                classnames) != self.num_classes:
            raise ValueError(
                f'class-specific CoOp was built for {self.num_classes} '
                f'classes but asked to predict {len(classnames)}')
        self.classnames = list(classnames)
        self.tokens = PromptTokens(backbone, classnames,
                                   self.n_ctx).to(self.ctx.device)

    def text_features(self, backbone,
                      image_features: ImageFeatures) -> Tensor:
        """Tuned class text features ``(C, D)``."""
        if self.tokens is None:
            raise RuntimeError('CoOp.set_classes() was not called')
        return self._encode(backbone, self.tokens)

    def encode_names(self, backbone, names: Sequence[str]) -> Tensor:
        """Tuned text features ``(N, D)`` of any names (shared context)."""
        if self.num_classes is not None:
            raise NotImplementedError(
                'class-specific CoOp has no context for names outside its '
                'classes; use a unified context (class_specific=False) with '
                'calibrators that need tuned text features.')
        tokens = PromptTokens(backbone, names, self.n_ctx).to(self.ctx.device)
        return self._encode(backbone, tokens)

    def _encode(self, backbone, tokens: PromptTokens) -> Tensor:
        prompts = tokens.assemble(self.ctx, self.class_token_position)
        return backbone.encode_token_embeddings(prompts, tokens.token_ids)
