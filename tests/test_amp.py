"""``--amp``: the frozen towers under autocast, everything else float32.

The reference is the same backbone in float32: autocast features must be
close to its features (bf16 keeps about 3 significant digits), returned
as float32, and the prompt's gradient must stay float32 and point the
same way.
"""
import copy
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from conftest import TINY_CLIP_CFG

from mmccr.models.backbones.clip import CLIPBackbone
from mmccr.models.prompt_learners import CoOp, Features
from mmccr.utils.config import apply_amp, load_config

CLASSNAMES = ['cat', 'traffic light', 'hot dog stand']
REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.fixture(scope='module')
def pair():
    backbones = []
    for precision in ('fp32', 'bf16'):
        torch.manual_seed(0)
        backbones.append(CLIPBackbone(model_cfg=copy.deepcopy(TINY_CLIP_CFG),
                                      pretrained=None, precision=precision))
    return backbones


def test_bf16_towers_return_float32_close_to_fp32(pair):
    full, half = pair
    images = torch.randn(4, 3, 32, 32, generator=torch.Generator()
                         .manual_seed(1))
    ref, out = full.encode_image(images), half.encode_image(images)
    assert out.dtype == torch.float32
    assert F.cosine_similarity(ref, out).min() > 0.99
    assert not torch.equal(ref, out)  # autocast did run
    ref_dense, out_dense = full.encode_image_dense(images)[1], \
        half.encode_image_dense(images)[1]
    assert out_dense.dtype == torch.float32
    assert F.cosine_similarity(ref_dense, out_dense, dim=-1).min() > 0.98


def test_prompt_gradient_stays_float32(pair):
    grads, logits = [], []
    for backbone in pair:
        torch.manual_seed(0)
        learner = CoOp(backbone, n_ctx=4)
        learner.set_classes(CLASSNAMES, backbone)
        feats = Features(torch.randn(2, 32, generator=torch.Generator()
                                     .manual_seed(2)))
        out = learner(backbone, feats)
        assert out.logits.dtype == torch.float32
        out.logits.sum().backward()
        grads.append(learner.ctx.grad)
        logits.append(out.logits.detach())
    assert grads[1].dtype == torch.float32
    assert F.cosine_similarity(grads[0].flatten(), grads[1].flatten(),
                               dim=0) > 0.98
    torch.testing.assert_close(logits[1], logits[0], atol=0.5, rtol=0.05)


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="precision must be one of"):
        CLIPBackbone(model_cfg={}, pretrained=None, precision='int8')


@pytest.mark.parametrize('cuda, bf16, expected, wrapper', [
    (False, True, 'fp32', 'OptimWrapper'),
    (True, True, 'bf16', 'OptimWrapper'),
    (True, False, 'fp16', 'AmpOptimWrapper'),
])
def test_apply_amp(monkeypatch, cuda, bf16, expected, wrapper):
    cfg = load_config(osp.join(REPO, 'configs', 'demo',
                               'coop_ccr_shapes_tiny.py'))
    before = cfg.optim_wrapper.get('type', 'OptimWrapper')
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda: bf16)
    assert apply_amp(cfg, cuda) == expected
    assert cfg.model.backbone.get('precision', 'fp32') == expected
    assert before == 'OptimWrapper'
    assert cfg.optim_wrapper.get('type', 'OptimWrapper') == wrapper
