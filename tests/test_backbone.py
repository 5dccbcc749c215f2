"""Tests of ``CLIPBackbone``: building, freezing, image and text paths.

Expected values come from open_clip itself (``clip.encode_text``,
``clip.encode_image``) or are computed by hand from the tiny model's
layers, never from the backbone's own methods.
"""
import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from mmccr.models.backbones.clip import CLIPBackbone

#: Prompts of very different token lengths (3 to ~60 positions).
TEXTS = [
    'dog',
    'a photo of a cat.',
    'a very long caption that keeps going with many many words about a '
    'small brown dog running through tall green grass next to a red barn '
    'on a sunny summer afternoon while children play nearby.',
]


def eot_positions(backbone, ids):
    """Index of the end-of-text token in each row, found by its id."""
    eot_id = backbone.tokenizer.eot_token_id
    return [(row == eot_id).nonzero()[0].item() for row in ids]


# ---------------------------------------------------------------------- #
# frozen, eval, no checkpoint keys                                       #
# ---------------------------------------------------------------------- #
def test_backbone_is_frozen_and_stays_in_eval(tiny_backbone):
    params = list(tiny_backbone.parameters())
    assert params and not any(p.requires_grad for p in params)
    try:
        assert tiny_backbone.train() is tiny_backbone
        assert not any(m.training for m in tiny_backbone.modules())
    finally:
        tiny_backbone.eval()


def test_backbone_stays_in_eval_inside_a_training_parent(tiny_backbone):
    parent = nn.Module()
    parent.backbone = tiny_backbone
    parent.head = nn.Linear(2, 2)
    try:
        parent.train()
        assert parent.training and parent.head.training
        assert not any(m.training for m in tiny_backbone.modules())
    finally:
        tiny_backbone.eval()


def test_backbone_weights_never_enter_a_state_dict(tiny_backbone):
    assert tiny_backbone.state_dict() == {}
    parent = nn.Module()
    parent.backbone = tiny_backbone
    parent.head = nn.Linear(2, 2)
    assert set(parent.state_dict()) == {'head.weight', 'head.bias'}


def test_loading_a_state_dict_without_backbone_keys_keeps_weights(
        tiny_backbone):
    before = {
        k: v.clone()
        for k, v in tiny_backbone.clip.state_dict().items()
    }
    parent = nn.Module()
    parent.backbone = tiny_backbone
    parent.head = nn.Linear(2, 2)
    new = {'head.weight': torch.ones(2, 2), 'head.bias': torch.zeros(2)}
    result = parent.load_state_dict(new, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert set(new) == {'head.weight', 'head.bias'}  # caller's dict intact
    assert torch.equal(parent.head.weight, torch.ones(2, 2))
    after = tiny_backbone.clip.state_dict()
    assert before.keys() == after.keys()
    for key, value in before.items():
        assert torch.equal(value, after[key]), key


# ---------------------------------------------------------------------- #
# text path                                                              #
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize('truncate', [True, False])
def test_encode_token_embeddings_equals_open_clip_encode_text(
        tiny_backbone, truncate):
    ids = tiny_backbone.tokenize(TEXTS)
    expected = tiny_backbone.clip.encode_text(ids)
    with torch.no_grad():
        out = tiny_backbone.encode_token_embeddings(
            tiny_backbone.token_embedding(ids), ids, truncate=truncate)
    assert out.shape == (len(TEXTS), 32)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_truncation_does_not_change_features(tiny_backbone):
    ids = tiny_backbone.tokenize(TEXTS)
    embeds = tiny_backbone.token_embedding(ids)
    with torch.no_grad():
        full = tiny_backbone.encode_token_embeddings(
            embeds, ids, truncate=False)
        short = tiny_backbone.encode_token_embeddings(
            embeds, ids, truncate=True)
        # Alone, the one-word prompt is cut to 3 positions instead of ~60.
        alone = tiny_backbone.encode_token_embeddings(
            embeds[:1], ids[:1], truncate=True)
    torch.testing.assert_close(short, full, atol=1e-5, rtol=0)
    torch.testing.assert_close(alone[0], full[0], atol=1e-5, rtol=0)


def record_transformer_inputs(backbone):
    """Record ``(sequence length, attn_mask shape)`` of every call of the
    text transformer; returns the list and the hook handle."""
    calls = []

    def hook(module, args, kwargs):
        x = args[0] if args else kwargs['x']
        mask = kwargs.get('attn_mask')
        calls.append((x.shape[1], None if mask is None else mask.shape))

    handle = backbone.clip.transformer.register_forward_pre_hook(
        hook, with_kwargs=True)
    return calls, handle


@pytest.mark.parametrize('texts', [TEXTS, TEXTS[:2], TEXTS[:1]])
def test_truncation_shortens_the_sequence(tiny_backbone, texts):
    ids = tiny_backbone.tokenize(texts)
    expected_len = max(eot_positions(tiny_backbone, ids)) + 1
    assert expected_len < 77
    calls, handle = record_transformer_inputs(tiny_backbone)
    try:
        with torch.no_grad():
            embeds = tiny_backbone.token_embedding(ids)
            tiny_backbone.encode_token_embeddings(embeds, ids, truncate=True)
            tiny_backbone.encode_token_embeddings(
                embeds, ids, truncate=False)
    finally:
        handle.remove()
    assert calls == [
        (expected_len, (expected_len, expected_len)),
        (77, (77, 77)),
    ]


def test_encode_text_equals_open_clip(tiny_backbone):
    ids = tiny_backbone.tokenizer(TEXTS)
    expected = tiny_backbone.clip.encode_text(ids)
    out = tiny_backbone.encode_text(TEXTS)
    assert not out.requires_grad
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_token_embedding_gradient_reaches_input_only(tiny_backbone):
    ids = tiny_backbone.tokenize(TEXTS[:2])
    embeds = tiny_backbone.token_embedding(ids).detach().requires_grad_()
    tiny_backbone.encode_token_embeddings(embeds, ids).sum().backward()
    assert embeds.grad is not None and embeds.grad.abs().sum() > 0
    assert all(p.grad is None for p in tiny_backbone.parameters())


def test_properties(tiny_backbone):
    assert tiny_backbone.embed_dim == 32
    assert tiny_backbone.token_embedding.weight.shape == (49408, 64)
    assert tiny_backbone.dtype == torch.float32
    ids = tiny_backbone.tokenize(['a photo of a cat.'])
    assert ids.shape == (1, 77) and ids.dtype == torch.long
    assert ids[0, 0] == tiny_backbone.tokenizer.sot_token_id


# ---------------------------------------------------------------------- #
# zero-shot text features                                                #
# ---------------------------------------------------------------------- #
def test_zero_shot_features_average_templates(tiny_backbone):
    names = ['zebra', 'fire truck', 'wooden chair']
    templates = ('a photo of a {}.', 'a blurry drawing of the {}.')
    expected = torch.stack([
        F.normalize(
            tiny_backbone.clip.encode_text(
                tiny_backbone.tokenizer([t.format(n) for n in names])),
            dim=-1) for t in templates
    ]).mean(0)
    expected = expected / expected.norm(dim=-1, keepdim=True)
    feats = tiny_backbone.zero_shot_features(names, templates)
    assert feats.shape == (3, 32)
    torch.testing.assert_close(
        feats.norm(dim=-1), torch.ones(3), atol=1e-6, rtol=0)
    torch.testing.assert_close(feats, expected, atol=1e-5, rtol=0)
    # The mean of two templates is neither template alone.
    single = F.normalize(
        tiny_backbone.clip.encode_text(
            tiny_backbone.tokenizer([templates[0].format(n)
                                     for n in names])),
        dim=-1)
    assert not torch.allclose(feats, single, atol=1e-4)


def test_zero_shot_default_template(tiny_backbone):
    names = ['lighthouse', 'kettle']
    expected = F.normalize(
        tiny_backbone.clip.encode_text(
            tiny_backbone.tokenizer([f'a photo of a {n}.' for n in names])),
        dim=-1)
    feats = tiny_backbone.zero_shot_features(names)
    torch.testing.assert_close(feats, expected, atol=1e-5, rtol=0)


def test_zero_shot_features_are_cached(tiny_backbone, monkeypatch):
    calls = []
    encode_text = tiny_backbone.encode_text

    def counting(texts, *args, **kwargs):
        calls.append(list(texts))
        return encode_text(texts, *args, **kwargs)

    monkeypatch.setattr(tiny_backbone, 'encode_text', counting)
    names = ['parrot', 'violin']
    templates = ('a photo of a {}.', 'itap of a {}.')
    first = tiny_backbone.zero_shot_features(names, templates)
    assert len(calls) == 2  # one batch per template
    second = tiny_backbone.zero_shot_features(names, templates)
    assert len(calls) == 2
    assert torch.equal(first, second)
    # Another order or another template set is another entry.
    swapped = tiny_backbone.zero_shot_features(names[::-1], templates)
    assert len(calls) == 4
    torch.testing.assert_close(swapped, first.flip(0), atol=1e-6, rtol=0)
    tiny_backbone.zero_shot_features(names, templates[:1])
    assert len(calls) == 5


# ---------------------------------------------------------------------- #
# image path                                                             #
# ---------------------------------------------------------------------- #
def test_encode_image_equals_open_clip(tiny_backbone, tiny_images):
    out = tiny_backbone.encode_image(tiny_images)
    assert out.shape == (2, 32) and not out.requires_grad
    torch.testing.assert_close(
        out, tiny_backbone.clip.encode_image(tiny_images), atol=1e-6, rtol=0)


def vit_by_hand(visual, images):
    """Class token and patch tokens after ``ln_post``, both projected,
    following open_clip's ``VisionTransformer`` step by step."""
    x = visual.conv1(images)  # (B, width, grid, grid)
    x = x.flatten(2).transpose(1, 2)  # (B, grid * grid, width)
    cls = visual.class_embedding.expand(x.shape[0], 1, -1)
    x = torch.cat([cls, x], dim=1) + visual.positional_embedding
    x = visual.ln_pre(x)
    x = visual.transformer(x)
    x = visual.ln_post(x)
    return x[:, 0] @ visual.proj, x[:, 1:] @ visual.proj


def test_encode_image_dense(tiny_backbone, tiny_images):
    visual = tiny_backbone.clip.visual
    with torch.no_grad():
        cls_ref, tokens_ref = vit_by_hand(visual, tiny_images)
    pooled, tokens = tiny_backbone.encode_image_dense(tiny_images)
    assert pooled.shape == (2, 32)
    assert tokens.shape == (2, 16, 32)  # (32 / 8) ** 2 patches, embed_dim
    torch.testing.assert_close(
        pooled, tiny_backbone.encode_image(tiny_images), atol=1e-6, rtol=0)
    torch.testing.assert_close(pooled, cls_ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(tokens, tokens_ref, atol=1e-5, rtol=0)
    # The visual tower is left as it was: pooled output only.
    assert visual.output_tokens is False
    assert visual(tiny_images).shape == (2, 32)


# ---------------------------------------------------------------------- #
# loading weights                                                        #
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize('fmt', ['safetensors', 'pt'])
def test_load_weights_from_local_file(tiny_backbone, tiny_clip_cfg,
                                      tmp_path, fmt):
    source = {
        k: v.contiguous()
        for k, v in tiny_backbone.clip.state_dict().items()
    }
    path = tmp_path / f'tiny.{fmt}'
    if fmt == 'safetensors':
        save_file(source, str(path))
    else:
        torch.save(source, str(path))
    torch.manual_seed(123)  # a different random init that must be replaced
    loaded = CLIPBackbone(model_cfg=tiny_clip_cfg, pretrained=str(path))
    state = loaded.clip.state_dict()
    assert state.keys() == source.keys()
    for key, value in source.items():
        assert torch.equal(state[key], value), key
    assert not any(p.requires_grad for p in loaded.parameters())
    assert not any(m.training for m in loaded.modules())


def test_missing_file_with_model_cfg_raises(tiny_clip_cfg, tmp_path):
    missing = str(tmp_path / 'nope.safetensors')
    with pytest.raises(FileNotFoundError, match='nope.safetensors'):
        CLIPBackbone(model_cfg=tiny_clip_cfg, pretrained=missing)


@pytest.mark.parametrize('name', ['weights/missing.bin', 'missing.bin'])
def test_missing_file_raises_with_instructions(tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        CLIPBackbone(model_name='ViT-B-16-quickgelu', pretrained=name)
    message = str(info.value)
    assert name in message
    assert 'open_clip_pytorch_model.bin' in message
    assert 'model.backbone.pretrained=' in message


OFFLINE_SCRIPT = textwrap.dedent("""
    import time
    from mmccr.models.backbones.clip import CLIPBackbone
    start = time.time()
    try:
        CLIPBackbone(model_name='ViT-B-16-quickgelu', pretrained='openai')
    except RuntimeError as err:
        print(f'SECONDS={time.time() - start:.2f}')
        print(err)
    else:
        print('NO ERROR')
""")


def test_offline_tag_fails_fast_with_instructions(tmp_path):
    env = dict(os.environ, HF_HUB_OFFLINE='1', HF_HOME=str(tmp_path / 'hf'))
    env.pop('HF_HUB_CACHE', None)
    proc = subprocess.run([sys.executable, '-c', OFFLINE_SCRIPT],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr
    assert 'NO ERROR' not in out
    seconds = float(out.split('SECONDS=')[1].split()[0])
    assert seconds < 10  # no network retries
    assert "HF_HUB_OFFLINE='1'" in out
    assert 'model.backbone.pretrained=' in out
    assert 'open_clip_pytorch_model.bin' in out
