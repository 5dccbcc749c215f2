"""The tiny CLIP of the toy world (``ToyCLIP``) as an open_clip model.

``ToyCLIP.json`` is an open_clip model config: a two-layer ViT with
8-pixel patches on 32-pixel images (the toy world's 64-pixel images,
resized) and a two-layer text transformer over the real CLIP tokenizer
(vocabulary 49408, context 32). Its weights,
``toyclip.safetensors``, were written by ``tools/toyworld/pretrain_clip.py``
(see ``docs/toyworld.md``). Once :func:`register_toyclip` has run, the
model loads like any open_clip model with a local checkpoint::

    open_clip.create_model('ToyCLIP', pretrained=TOYCLIP_WEIGHTS)

In configs, ``CLIPBackbone(model_name='ToyCLIP', config_file=TOYCLIP_CONFIG,
pretrained=TOYCLIP_WEIGHTS)`` registers it and takes that same path.
"""
import os.path as osp

from ..clip import register_model_config

#: open_clip model name of the tiny CLIP.
TOYCLIP_NAME = 'ToyCLIP'

#: Its open_clip model config (JSON).
TOYCLIP_CONFIG = osp.join(osp.dirname(osp.abspath(__file__)), 'ToyCLIP.json')

#: Its pretrained weights (safetensors, float16).
TOYCLIP_WEIGHTS = osp.join(
    osp.dirname(osp.abspath(__file__)), 'toyclip.safetensors')


def register_toyclip() -> str:
    """Add ``ToyCLIP`` to open_clip's model configs (idempotent).

    open_clip is imported here, not when this module is imported, so that
    ``HF_HUB_OFFLINE`` set by the caller still takes effect.

    Returns:
        str: the model name, ``'ToyCLIP'``.
    """
    register_model_config(TOYCLIP_NAME, TOYCLIP_CONFIG)
    return TOYCLIP_NAME
