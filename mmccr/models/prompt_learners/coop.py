"""CoOp: learned context vectors in front of the class name.

Zhou et al., "Learning to Prompt for Vision-Language Models", IJCV 2022.
"""
from typing import Optional, Sequence

from torch import Tensor, nn

from mmccr.registry import PROMPT_LEARNERS

from .base import Features, PromptTokens
from .context import (
    ContextPromptLearner,
    check_position,
    encode_prompts,
    init_context,
)


@PROMPT_LEARNERS.register_module()
class CoOp(ContextPromptLearner):
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
        logit_scale (float, optional): cosine multiplier; None (default)
            takes the backbone's learned scale.
        logit_bias (float, optional): logit offset; None (default) takes the
            backbone's (0 for CLIP).
    """

    def __init__(self,
                 backbone,
                 n_ctx: int = 16,
                 ctx_init: Optional[str] = None,
                 class_specific: bool = False,
                 num_classes: Optional[int] = None,
                 class_token_position: str = 'end',
                 init_std: float = 0.02,
                 logit_scale: Optional[float] = None,
                 logit_bias: Optional[float] = None) -> None:
        super().__init__(class_specific, num_classes, logit_scale,
                         logit_bias)
        self.class_token_position = check_position(class_token_position)
        self.n_ctx, init = init_context(backbone, n_ctx, ctx_init,
                                        self.num_classes, init_std)
        self.ctx = nn.Parameter(init)
        self.tokens: Optional[PromptTokens] = None

    def set_classes(self,
                    classnames: Sequence[str],
                    backbone,
                    base_classnames: Optional[Sequence[str]] = None) -> None:
        """Rebuild the frozen prompt tokens for ``classnames``."""
        super().set_classes(classnames, backbone, base_classnames)
        self.tokens = self.make_tokens(backbone, classnames)

    def make_tokens(self, backbone, names: Sequence[str]) -> PromptTokens:
        """Frozen prompt tokens of ``names`` on the context's device."""
        return PromptTokens(backbone, names, self.n_ctx).to(self.ctx.device)

    def class_features(self, backbone, features: Features) -> Tensor:
        """Tuned class text features ``(C, D)``."""
        if self.tokens is None:
            raise RuntimeError(
                f'{type(self).__name__}.set_classes() was not called')
        return encode_prompts(backbone, self.tokens, self.ctx,
                              self.class_token_position)

    def tuned_features(self,
                       backbone,
                       names: Sequence[str],
                       features: Optional[Features] = None) -> Tensor:
        """Tuned text features ``(N, D)`` of any names (shared context)."""
        if not self.can_encode_names:
            return super().tuned_features(backbone, names, features)
        return encode_prompts(backbone, self.make_tokens(backbone, names),
                              self.ctx, self.class_token_position)
