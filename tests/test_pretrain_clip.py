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
