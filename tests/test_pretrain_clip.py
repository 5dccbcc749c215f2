"""Tests of ``tools/toyworld/pretrain_clip.py``: the loss and a tiny run."""
import math
import os.path as osp
import sys

import pytest
import torch
import torch.nn.functional as F
from test_calibrator_tools import REPO, tool

sys.path.insert(0, osp.join(REPO, 'tools', 'toyworld'))
import pretrain_clip  # noqa: E402


def test_overlap_targets_by_hand():
    labels = torch.tensor([[1, 1, 0], [0, 1, 0], [0, 0, 1]])
    # Jaccard: (0,1) = 1/2, (0,2) = 0, (1,2) = 0; rows normalised.
    expected = torch.tensor([[2 / 3, 1 / 3, 0], [1 / 3, 2 / 3, 0],
                             [0, 0, 1]])
    torch.testing.assert_close(pretrain_clip.overlap_targets(labels),
                               expected)


def test_loss_is_clips_for_disjoint_scenes():
    gen = torch.Generator().manual_seed(0)
    image = torch.randn(4, 8, generator=gen)
    text = torch.randn(4, 8, generator=gen)
    labels = torch.eye(4, 6, dtype=torch.long)
    scale = torch.tensor(math.log(20.))
    logits = 20 * F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).t()
    target = torch.arange(4)
    expected = (F.cross_entropy(logits, target) +
                F.cross_entropy(logits.t(), target)) / 2
    torch.testing.assert_close(
        pretrain_clip.clip_loss(image, text, scale, labels), expected)


def test_tiny_run_writes_weights_the_backbone_loads(tmp_path, capsys):
    out = tmp_path / 'tiny.safetensors'
    tool('tools/toyworld/pretrain_clip.py', '--images', 64, '--steps', 2,
         '--batch-size', 32, '--eval-images', 40, '--threads', 1, '--out',
         out)
    assert 'Zero-shot mAP on 40 test images' in capsys.readouterr().out
    from mmccr.models.backbones.clip import CLIPBackbone
    from mmccr.models.backbones.toyclip import TOYCLIP_CONFIG
    backbone = CLIPBackbone(model_name='ToyCLIP', config_file=TOYCLIP_CONFIG,
                            pretrained=str(out))
    assert backbone.encode_image(torch.zeros(1, 3, 32, 32)).shape == (1, 64)


def test_bad_arguments_are_named(capsys):
    with pytest.raises(SystemExit):
        tool('tools/toyworld/pretrain_clip.py', '--steps', 0)
    assert '--steps must be >= 1, got 0' in capsys.readouterr().err


SIGLIP_CONFIG = osp.join(REPO, 'mmccr', 'models', 'backbones', 'toyclip',
                         'ToyCLIP-Sigmoid.json')


def test_coverage_targets_by_hand():
    # image 0 shows {a, b}, image 1 {b}, image 2 {c}; caption j names the
    # objects of scene j: entry (i, j) = share of caption j true of image i.
    labels = torch.tensor([[1, 1, 0], [0, 1, 0], [0, 0, 1]])
    expected = torch.tensor([[1., 1., 0.], [0.5, 1., 0.], [0., 0., 1.]])
    torch.testing.assert_close(pretrain_clip.coverage_targets(labels),
                               expected)


def test_siglip_loss_against_a_loop_of_binary_cross_entropies():
    gen = torch.Generator().manual_seed(1)
    image = torch.randn(3, 5, generator=gen)
    text = torch.randn(3, 5, generator=gen)
    labels = torch.tensor([[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]])
    scale, bias = torch.tensor(math.log(7.)), torch.tensor(-2.5)
    objects = [set(torch.nonzero(row).flatten().tolist()) for row in labels]
    total = 0.
    for i in range(3):
        for j in range(3):
            cos = F.cosine_similarity(image[i], text[j], dim=0)
            p = torch.sigmoid(7 * cos - 2.5)
            t = len(objects[i] & objects[j]) / len(objects[j])
            total += -(t * torch.log(p) + (1 - t) * torch.log(1 - p))
    torch.testing.assert_close(
        pretrain_clip.siglip_loss(image, text, scale, bias, labels),
        total / 3)


def test_siglip_run_learns_a_bias_and_reports_ece(tmp_path, capsys):
    out = tmp_path / 'tiny_siglip.safetensors'
    tool('tools/toyworld/pretrain_clip.py', '--images', 64, '--steps', 2,
         '--batch-size', 32, '--eval-images', 40, '--threads', 1, '--loss',
         'siglip', '--model-config', SIGLIP_CONFIG, '--out', out)
    text = capsys.readouterr().out
    assert 'binary-mode ECE x100' in text
    from safetensors.torch import load_file
    state = load_file(str(out))
    assert state['logit_bias'].dtype == torch.float16
    # two AdamW steps at the warm-up learning rate move it off its start
    import json
    with open(SIGLIP_CONFIG, encoding='utf-8') as f:
        start = json.load(f)['init_logit_bias']
    assert state['logit_bias'].float().item() != pytest.approx(start,
                                                              abs=1e-4)


def test_siglip_needs_a_config_with_a_bias(capsys):
    from mmccr.models.backbones.toyclip import TOYCLIP_CONFIG
    with pytest.raises(SystemExit):
        tool('tools/toyworld/pretrain_clip.py', '--images', 64, '--steps', 1,
             '--batch-size', 32, '--loss', 'siglip', '--model-config',
             TOYCLIP_CONFIG)
    assert 'init_logit_bias' in capsys.readouterr().err
