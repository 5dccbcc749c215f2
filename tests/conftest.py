"""Shared fixtures: a tiny, randomly initialised open_clip CLIP.

The tiny model keeps the real tokenizer (``vocab_size=49408``,
``context_length=77``) but is otherwise small enough to build in about a
second and to run on CPU in milliseconds. Fixtures that return shared
objects are session-scoped; tests must not modify them.
"""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config

#: open_clip config of the tiny CLIP (``open_clip.CLIP(**TINY_CLIP_CFG)``),
#: the one of ``configs/_base_/backbones/tiny-clip.py``.
#: Images are ``(B, 3, 32, 32)``; features have ``embed_dim=32``; patch
#: tokens are ``(32 / 8) ** 2 = 16`` per image; text width is 64.
TINY_CLIP_CFG = Config.fromfile(
    osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs',
             '_base_', 'backbones', 'tiny-clip.py')).tiny_clip.to_dict()


def tiny_classifier_cfg(classnames=None, **kwargs) -> dict:
    """Config of a ``PromptClassifier`` on the tiny CLIP.

    CoOp with 4 random context vectors, BCE loss, no calibrators; ``kwargs``
    replace or add top-level keys (e.g. ``calibrators=[dict(type='CCR')]``).
    Build it with ``mmccr.registry.MODELS.build``.
    """
    cfg = dict(
        type='PromptClassifier',
        backbone=dict(
            type='CLIPBackbone',
            model_cfg=copy.deepcopy(TINY_CLIP_CFG),
            pretrained=None),
        learner=dict(type='CoOp', n_ctx=4),
        classnames=classnames)
    cfg.update(kwargs)
    return cfg


@pytest.fixture
def tiny_clip_cfg() -> dict:
    """A fresh copy of :data:`TINY_CLIP_CFG` (safe to modify)."""
    return copy.deepcopy(TINY_CLIP_CFG)


@pytest.fixture(scope='session')
def tiny_backbone():
    """A frozen ``CLIPBackbone`` on the tiny config, seed 0 (shared)."""
    from mmccr.models.backbones.clip import CLIPBackbone
    torch.manual_seed(0)
    return CLIPBackbone(
        model_cfg=copy.deepcopy(TINY_CLIP_CFG), pretrained=None)


@pytest.fixture(scope='session')
def make_tiny_classifier_cfg():
    """The :func:`tiny_classifier_cfg` factory, as a fixture."""
    return tiny_classifier_cfg


@pytest.fixture
def tiny_images() -> torch.Tensor:
    """Two random float images ``(2, 3, 32, 32)`` for the tiny CLIP."""
    gen = torch.Generator().manual_seed(1)
    return torch.randn(2, 3, 32, 32, generator=gen)


@pytest.fixture(autouse=True)
def _split_cache(tmp_path_factory, monkeypatch):
    """Few-shot split files of every test go to a temporary cache, never to
    the user's ``~/.cache/mmccr`` (datasets default there)."""
    monkeypatch.setenv('MMCCR_CACHE_DIR',
                       str(tmp_path_factory.mktemp('mmccr_cache')))
