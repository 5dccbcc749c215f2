"""A frozen CLIP backbone over open_clip.

The backbone owns the frozen encoders: it turns images into (global and
dense) features and runs the text transformer on token embeddings that a
prompt learner assembled. It never trains and never appears in checkpoints:
its weights always come from ``pretrained``.
"""
import os
from contextlib import nullcontext
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmccr.registry import MODELS

#: Single hand-crafted template used for zero-shot text features.
DEFAULT_TEMPLATES = ('a photo of a {}.', )

#: Compute precisions of the frozen towers (``CLIPBackbone.precision``).
PRECISIONS = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}

#: OpenAI CLIP normalisation constants (RGB, on the 0-1 scale).
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)

_WEIGHTS_HELP = (
    'mmccr could not load the CLIP weights {what!r} for model {name!r}.\n'
    '  * On a machine with internet, open_clip downloads tags such as '
    "'openai' into the Hugging Face cache (set HF_HOME or `cache_dir` to "
    'choose where); run once online, then offline runs find the cache.\n'
    '  * Offline, download the weights file on a connected machine (for the '
    'OpenAI ViT-B/16: `open_clip_pytorch_model.bin` from the Hugging Face '
    'repository timm/vit_base_patch16_clip_224.openai), copy it here and '
    'set `model.backbone.pretrained=/path/to/open_clip_pytorch_model.bin`.\n'
    '  * HF_HUB_OFFLINE={offline!r} in this process.\n'
    'Original error: {err}')


def _looks_like_file(pretrained: str) -> bool:
    """Whether ``pretrained`` names a file rather than an open_clip tag."""
    return os.path.sep in pretrained or pretrained.endswith(
        ('.pt', '.pth', '.bin', '.safetensors'))


def register_model_config(name: str, config_file: str) -> None:
    """Add the model config ``config_file`` to open_clip as ``name``.

    Idempotent; ``name`` must be the file's stem (open_clip registers a
    config under its file name).
    """
    import open_clip
    stem, ext = os.path.splitext(os.path.basename(config_file))
    if not os.path.isfile(config_file) or ext != '.json':
        raise FileNotFoundError(
            f'open_clip model config {config_file!r} (`config_file`) is not '
            'an existing .json file.')
    if stem != name:
        raise ValueError(f'model_name {name!r} must be the file stem of '
                         f'config_file {config_file!r} ({stem!r}): open_clip '
                         'registers a config under its file name.')
    if name not in open_clip.list_models():
        open_clip.add_model_config(config_file)


def _freeze(module: nn.Module) -> None:
    module.eval()
    for param in module.parameters():
        param.requires_grad_(False)


@MODELS.register_module()
class CLIPBackbone(nn.Module):
    """Frozen open_clip CLIP with a prompt-friendly text path.

    Args:
        model_name (str): open_clip model name, ``'hf-hub:org/repo'`` or
            ``'local-dir:/path'``. OpenAI weights need QuickGELU, so the
            default is ``'ViT-B-16-quickgelu'``. Ignored when ``model_cfg``
            is given.
        pretrained (str, optional): an open_clip tag (``'openai'``), a local
            checkpoint file (``.pt``, ``.bin``, ``.safetensors``), or None for
            random initialisation. Defaults to ``'openai'``.
        model_cfg (dict, optional): an open_clip model config (``embed_dim``,
            ``vision_cfg``, ``text_cfg``, ...) for a custom architecture such
            as the tiny test models. Defaults to None.
        config_file (str, optional): an open_clip model config file (JSON)
            to register before building, for architectures open_clip does
            not ship (the toy world's ``ToyCLIP``); ``model_name`` must be
            its file stem. Defaults to None.
        cache_dir (str, optional): where open_clip caches downloaded weights.
            Defaults to the Hugging Face default.
        templates (Sequence[str]): templates for zero-shot text features,
            with ``{}`` standing for the class name. Defaults to
            ``('a photo of a {}.',)``.
        precision (str): ``'fp32'``, or ``'bf16'`` / ``'fp16'`` to run the
            frozen image and text towers under autocast (``--amp``); their
            outputs are returned in float32, so prompts, losses and metrics
            stay float32. Defaults to ``'fp32'``.
    """

    def __init__(self,
                 model_name: str = 'ViT-B-16-quickgelu',
                 pretrained: Optional[str] = 'openai',
                 model_cfg: Optional[dict] = None,
                 config_file: Optional[str] = None,
                 cache_dir: Optional[str] = None,
                 templates: Sequence[str] = DEFAULT_TEMPLATES,
                 precision: str = 'fp32') -> None:
        super().__init__()
        if precision not in PRECISIONS:
            raise ValueError(f'CLIPBackbone precision must be one of '
                             f'{sorted(PRECISIONS)}, got {precision!r}')
        self.precision = precision
        import open_clip  # after the user's HF_HUB_OFFLINE took effect
        if config_file is not None:
            register_model_config(model_name, config_file)
        self.model_name = model_name
        self.templates = tuple(templates)
        self.clip = self._build(open_clip, model_name, pretrained, model_cfg,
                                cache_dir)
        self.tokenizer = open_clip.get_tokenizer(
            'ViT-B-16' if model_cfg is not None else model_name)
        _freeze(self.clip)
        self.eval()  # the wrapper too, not only the encoders
        # The frozen weights are never written to or read from checkpoints.
        self._register_state_dict_hook(_drop_own_keys)
        self._register_load_state_dict_pre_hook(
            _fill_own_keys, with_module=True)
        self._zero_shot_cache: Dict[Tuple[str, ...], Tensor] = {}

    @staticmethod
    def _build(open_clip, name: str, pretrained: Optional[str],
               model_cfg: Optional[dict], cache_dir: Optional[str]):
        if model_cfg is not None:
            model = open_clip.CLIP(**model_cfg)
            if pretrained:
                if not os.path.isfile(os.path.expanduser(pretrained)):
                    raise FileNotFoundError(
                        f'CLIP checkpoint file {pretrained!r} (given as '
                        '`pretrained` together with `model_cfg`) does not '
                        'exist.')
                open_clip.load_checkpoint(
                    model, os.path.expanduser(pretrained), weights_only=True)
            return model
        if pretrained and _looks_like_file(pretrained) and not os.path.isfile(
                os.path.expanduser(pretrained)):
            raise FileNotFoundError(
                f'CLIP checkpoint file {pretrained!r} does not exist. '
                + _WEIGHTS_HELP.split('\n', 1)[1].format(
                    offline=os.environ.get('HF_HUB_OFFLINE'), err='-'))
        # hf-hub: / local-dir: names carry their weights; never fall back to a
        # random CLIP silently when they are missing.
        hub = name.startswith(('hf-hub:', 'local-dir:'))
        try:
            return open_clip.create_model(
                name,
                pretrained=os.path.expanduser(pretrained)
                if pretrained else None,
                cache_dir=cache_dir,
                require_pretrained=bool(pretrained) or hub)
        except RuntimeError as err:
            if not (pretrained or hub):
                raise
            raise RuntimeError(
                _WEIGHTS_HELP.format(
                    what=pretrained,
                    name=name,
                    offline=os.environ.get('HF_HUB_OFFLINE'),
                    err=err)) from err

    def train(self, mode: bool = True) -> 'CLIPBackbone':
        """Stay in eval mode: the Runner calls ``model.train()`` each epoch."""
        super().train(False)
        return self

    # ------------------------------------------------------------------ #
    # properties of the text tower                                       #
    # ------------------------------------------------------------------ #
    @property
    def logit_scale(self) -> float:
        """CLIP's learned cosine multiplier (100 for OpenAI's weights)."""
        return float(self.clip.logit_scale.exp())

    @property
    def logit_bias(self) -> Optional[float]:
        """The learned logit bias of sigmoid-trained CLIPs (SigLIP), else None.

        open_clip models trained with a sigmoid loss carry ``logit_bias``;
        their logits are ``exp(logit_scale) · cos + logit_bias``.
        """
        bias = getattr(self.clip, 'logit_bias', None)
        return None if bias is None else float(bias.reshape(-1)[0])

    @property
    def embed_dim(self) -> int:
        """Width of the joint image-text space, e.g. 512 for ViT-B/16."""
        return self.clip.text_projection.shape[-1] if isinstance(
            self.clip.text_projection, Tensor
        ) else self.clip.text_projection.out_features

    @property
    def token_embedding(self) -> nn.Embedding:
        """The frozen token embedding table ``(vocab, width)``."""
        return self.clip.token_embedding

    @property
    def dtype(self) -> torch.dtype:
        """Dtype the text transformer computes in."""
        return self.clip.token_embedding.weight.dtype

    def tokenize(self, texts: Union[str, List[str]]) -> Tensor:
        """Tokenize texts with the CLIP tokenizer.

        Returns:
            Tensor: token ids ``(N, 77)`` on the backbone's device.
        """
        device = self.clip.token_embedding.weight.device
        return self.tokenizer(texts).to(device)

    def autocast(self):
        """Autocast of the frozen towers at :attr:`precision` (fp32: none)."""
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return nullcontext()
        device = self.clip.token_embedding.weight.device.type
        return torch.autocast(device, dtype=dtype)

    # ------------------------------------------------------------------ #
    # image path                                                         #
    # ------------------------------------------------------------------ #
    @torch.no_grad()
    def encode_image(self, images: Tensor) -> Tensor:
        """Global image features.

        Args:
            images (Tensor): normalised images ``(B, 3, H, W)``.

        Returns:
            Tensor: unnormalised features ``(B, D)``.
        """
        with self.autocast():
            feats = self.clip.encode_image(images)
        return feats.float() if self.precision != 'fp32' else feats

    def encode_learnable_images(self, images: Tensor) -> Tensor:
        """Global features of learnable images, with gradients to them.

        For learners whose prompts live in pixel space (TaI++'s
        pseudo-visual prompts): the frozen weights get no gradient (they
        do not require one), the images do.

        Args:
            images (Tensor): normalised images ``(N, 3, H, W)`` at the
                encoder's input size.

        Returns:
            Tensor: unnormalised features ``(N, D)``.
        """
        return self.clip.encode_image(images.to(self.dtype))

    @property
    def image_size(self) -> int:
        """Side of the square input images of the image encoder."""
        size = self.clip.visual.image_size
        return int(size[0] if isinstance(size, (tuple, list)) else size)

    @torch.no_grad()
    def encode_image_dense(self, images: Tensor) -> Tuple[Tensor, Tensor]:
        """Global features and projected dense (spatial) tokens.

        * ViT: the patch tokens after ``ln_post``, multiplied by the visual
          projection.
        * ModifiedResNet (RN50, RN101): the final feature map passed
          through the attention pool's value and output projections, token
          by token (the spatial outputs DualCoOp and TaI-DPT score), next to
          the attention pool's own global output.

        Args:
            images (Tensor): normalised images ``(B, 3, H, W)``.

        Returns:
            tuple: global features ``(B, D)`` (equal to :meth:`encode_image`)
            and dense tokens ``(B, L, D)``.
        """
        with self.autocast():
            pooled, tokens = self._dense(images)
        if self.precision != 'fp32':
            pooled, tokens = pooled.float(), tokens.float()
        return pooled, tokens

    def _dense(self, images: Tensor) -> Tuple[Tensor, Tensor]:
        visual = self.clip.visual
        if hasattr(visual, 'attnpool'):
            return _resnet_dense(visual, images)
        if not hasattr(visual, 'output_tokens'):
            raise NotImplementedError(
                f'Dense features are implemented for open_clip ViTs and '
                f'ModifiedResNets, not for {type(visual).__name__} '
                f'({self.model_name!r}).')
        old = visual.output_tokens
        visual.output_tokens = True
        try:
            pooled, tokens = visual(images)
        finally:
            visual.output_tokens = old
        if visual.proj is not None:
            tokens = tokens @ visual.proj
        return pooled, tokens

    # ------------------------------------------------------------------ #
    # text path                                                          #
    # ------------------------------------------------------------------ #
    def encode_token_embeddings(self,
                                embeddings: Tensor,
                                token_ids: Tensor,
                                truncate: bool = True) -> Tensor:
        """Run the text transformer on given token embeddings.

        This is ``CLIP.encode_text`` after the embedding lookup, so learned
        context vectors can stand in for some tokens. Pooling takes the
        feature at the end-of-text token, found in ``token_ids`` (its id is
        the largest in the vocabulary).

        With ``truncate`` the transformer runs only on the first ``T``
        positions, ``T`` being one past the last end-of-text position in the
        batch. Under the causal mask no position attends to a later one, so
        the pooled features are the same as with the full context.

        Args:
            embeddings (Tensor): token embeddings ``(N, L, W)``.
            token_ids (Tensor): the token ids that locate the end-of-text
                token ``(N, L)``.
            truncate (bool): run only up to the last end-of-text position.
                Defaults to True.

        Returns:
            Tensor: unnormalised text features ``(N, D)``.
        """
        x, eot = self._text_sequence(embeddings, token_ids, truncate)
        x = x[torch.arange(x.shape[0], device=x.device), eot]  # (N, W)
        return self._project_text(x)

    def _text_sequence(self, embeddings: Tensor, token_ids: Tensor,
                       truncate: bool) -> Tuple[Tensor, Tensor]:
        """Text transformer and ``ln_final`` at every position.

        Returns:
            tuple: features ``(N, T, W)`` (``T`` = one past the batch's last
            end-of-text position with ``truncate``, else ``L``) and the
            end-of-text positions ``(N,)``.
        """
        clip = self.clip
        length = embeddings.shape[1]
        if truncate:
            length = int(token_ids.argmax(dim=-1).max()) + 1
        x = embeddings[:, :length].to(self.dtype)
        x = x + clip.positional_embedding[:length].to(x.dtype)
        mask = clip.attn_mask[:length, :length] \
            if clip.attn_mask is not None else None
        with self.autocast():
            x = clip.ln_final(clip.transformer(x, attn_mask=mask))
        if self.precision != 'fp32':
            x = x.float()  # prompts, losses and metrics stay float32
        return x, token_ids[:, :length].argmax(dim=-1)

    def _project_text(self, x: Tensor) -> Tensor:
        """Text projection of features ``(..., W)`` to ``(..., D)``."""
        if isinstance(self.clip.text_projection, nn.Linear):
            return self.clip.text_projection(x)
        return x @ self.clip.text_projection

    @torch.no_grad()
    def encode_caption(self,
                       texts: Sequence[str]) -> Tuple[Tensor, Tensor, Tensor]:
        """Global and per-token features of captions, in one pass.

        Text-trained learners (TaI-DPT) use a caption as if it were an
        image: its end-of-text feature as the global feature and its
        projected token features as the dense ones. The transformer runs
        once, up to the batch's longest caption; ``ln_final`` and the text
        projection are applied at every position. Positions after a
        caption's end-of-text token are padding: masked, and (causal mask)
        without influence on the real ones.

        Args:
            texts (Sequence[str]): the captions (cut to the context length
                by the tokenizer).

        Returns:
            tuple: global features ``(N, D)`` (equal to
            :meth:`encode_text`), token features ``(N, T, D)`` and their
            mask ``(N, T)``, True from the start token to the end-of-text
            token.
        """
        ids = self.tokenize(list(texts))  # (N, L)
        x, eot = self._text_sequence(self.token_embedding(ids), ids,
                                     truncate=True)
        tokens = self._project_text(x)  # (N, T, D)
        rows = torch.arange(tokens.shape[0], device=tokens.device)
        positions = torch.arange(tokens.shape[1], device=tokens.device)
        mask = positions.unsqueeze(0) <= eot.unsqueeze(1)  # (N, T)
        return tokens[rows, eot], tokens, mask

    @torch.no_grad()
    def encode_text(self, texts: List[str], truncate: bool = True) -> Tensor:
        """Frozen text features of plain strings.

        Returns:
            Tensor: unnormalised features ``(N, D)``.
        """
        ids = self.tokenize(texts)
        return self.encode_token_embeddings(
            self.token_embedding(ids), ids, truncate=truncate)

    @torch.no_grad()
    def zero_shot_features(
            self,
            classnames: Sequence[str],
            templates: Optional[Sequence[str]] = None,
            cache: bool = True) -> Tensor:
        """Zero-shot class embeddings, averaged over templates.

        Each template is filled with every class name; the features are
        L2-normalised, averaged over templates and normalised again.

        Args:
            classnames (Sequence[str]): the names.
            templates (Sequence[str], optional): defaults to the backbone's.
            cache (bool): keep the result per (names, templates) for the
                next call. Defaults to True; turn off for one-off batches
                of many names (e.g. an outlier vocabulary).

        Returns:
            Tensor: unit-norm class features ``(C, D)``.
        """
        templates = tuple(templates or self.templates)
        key = tuple(classnames) + ('\x00', ) + templates
        device = self.clip.token_embedding.weight.device
        feats = self._zero_shot_cache.get(key)
        if feats is None:
            feats = F.normalize(torch.stack([
                F.normalize(
                    self.encode_text([t.format(c) for c in classnames]),
                    dim=-1) for t in templates
            ]).mean(0), dim=-1)
            if cache:
                self._zero_shot_cache[key] = feats
        return feats.to(device)


def _resnet_dense(visual: nn.Module, images: Tensor) -> Tuple[Tensor, Tensor]:
    """Global and dense features of an open_clip ``ModifiedResNet``.

    Returns:
        tuple: the attention pool's output ``(B, D)`` and the value/output
        projections of the positionally embedded spatial tokens
        ``(B, H·W, D)``.
    """
    x = visual.stem(images.to(visual.conv1.weight.dtype))
    for layer in (visual.layer1, visual.layer2, visual.layer3, visual.layer4):
        x = layer(x)  # (B, W, H', W')
    pool = visual.attnpool
    pooled = pool(x)  # (B, D)
    tokens = x.flatten(2).transpose(1, 2)  # (B, H'·W', W)
    tokens = tokens + pool.positional_embedding[1:].to(tokens.dtype)
    return pooled, pool.c_proj(pool.v_proj(tokens))


def _drop_own_keys(module: nn.Module, state_dict: dict, prefix: str,
                   local_metadata: dict) -> None:
    """State-dict hook that removes every key of the frozen backbone."""
    for key in [k for k in state_dict if k.startswith(prefix)]:
        del state_dict[key]


def _fill_own_keys(module: 'CLIPBackbone', state_dict: dict, prefix: str,
                   *args) -> None:
    """Load pre-hook that fills the backbone's keys with its live weights.

    Checkpoints hold no backbone weights, so loading one must neither warn
    about them nor change them; weights a state dict does carry still load.
    """
    for key, value in module.clip.state_dict(keep_vars=True).items():
        state_dict.setdefault(f'{prefix}clip.{key}', value.detach())
