"""CoCoOp, KgCoOp, DualCoOp and the batched prompt machinery.

Independent references: open_clip's own ``encode_text`` on plain-text
prompts, the official per-image loop over the full 77-token context
(``CLIPBackbone.encode_token_embeddings(..., truncate=False)``), plain
Python loops for the region aggregation, and identities that must hold
(a zero meta-net is CoOp; λ = 0 KgCoOp is CoOp; one region is the global
score; sigmoid of z+ − z− is the two-way softmax).
"""
import copy
import math

import pytest
import torch
import torch.nn.functional as F

from mmccr.models import (
    CoCoOp,
    CoOp,
    DualCoOp,
    Features,
    KgCoOp,
    PromptTokens,
    ZeroShotCLIP,
)
from mmccr.models.backbones.clip import CLIPBackbone
from mmccr.registry import MODELS

CLASSNAMES = ['cat', 'traffic light', 'hot dog stand', 'dog']


def clip_text(backbone, texts):
    """open_clip's own text features of plain strings."""
    return backbone.clip.encode_text(backbone.tokenizer(texts))


def image_feats(num, dim=32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(num, dim, generator=gen)


# ---------------------------------------------------------------------- #
# batched prompt assembly                                                #
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize('position', ['end', 'front', 'middle'])
def test_per_image_assembly_equals_a_loop_over_images(tiny_backbone,
                                                      position):
    tokens = PromptTokens(tiny_backbone, CLASSNAMES, n_ctx=5)
    gen = torch.Generator().manual_seed(0)
    ctx = torch.randn(3, len(CLASSNAMES), 5, 64, generator=gen)
    batched = tokens.assemble(ctx, position)
    assert batched.shape == (3, len(CLASSNAMES), 77, 64)
    for b in range(3):
        torch.testing.assert_close(batched[b],
                                   tokens.assemble(ctx[b], position))


@pytest.mark.parametrize('position, template', [
    ('front', '{} a photo of a.'), ('middle', 'a photo {} of a.')])
def test_vectorised_positions_equal_the_sentence(tiny_backbone, position,
                                                 template):
    """Per-class context from words, moved by the gather permutation."""
    learner = CoOp(tiny_backbone, ctx_init='a photo of a',
                   class_token_position=position)
    learner.set_classes(CLASSNAMES, tiny_backbone)
    with torch.no_grad():
        per_class = learner.ctx.unsqueeze(0).expand(len(CLASSNAMES), -1, -1)
        prompts = learner.tokens.assemble(per_class, position)
        feats = tiny_backbone.encode_token_embeddings(
            prompts, learner.tokens.token_ids)
    expected = clip_text(tiny_backbone,
                         [template.format(n) for n in CLASSNAMES])
    torch.testing.assert_close(feats, expected, atol=1e-5, rtol=0)


def test_assemble_rejects_a_context_for_other_classes(tiny_backbone):
    tokens = PromptTokens(tiny_backbone, CLASSNAMES, n_ctx=2)
    with pytest.raises(ValueError, match='does not fit 4 classes'):
        tokens.assemble(torch.zeros(2, 3, 2, 64))


# ---------------------------------------------------------------------- #
# CoCoOp                                                                 #
# ---------------------------------------------------------------------- #
def official_cocoop_features(learner, backbone, pooled):
    """The official way: one image at a time, all 77 positions."""
    image = F.normalize(pooled, dim=-1)
    out = []
    for b in range(pooled.shape[0]):
        ctx = learner.ctx + learner.meta_net(image[b])  # (n_ctx, W)
        prompts = learner.tokens.assemble(ctx)
        out.append(backbone.encode_token_embeddings(
            prompts, learner.tokens.token_ids, truncate=False))
    return torch.stack(out)


def test_cocoop_batched_equals_the_per_image_loop(tiny_backbone):
    torch.manual_seed(0)
    learner = CoCoOp(tiny_backbone, chunk_size=5)  # chunks cut images
    learner.set_classes(CLASSNAMES, tiny_backbone)
    pooled = image_feats(3)
    with torch.no_grad():
        learner.meta_net[2].weight.normal_(std=0.5)  # a visible shift
        batched = learner.class_features(tiny_backbone, Features(pooled))
        official = official_cocoop_features(learner, tiny_backbone, pooled)
    assert batched.shape == (3, len(CLASSNAMES), 32)
    torch.testing.assert_close(batched, official, atol=1e-5, rtol=0)
    assert not torch.allclose(batched[0], batched[1], atol=1e-3)


def test_cocoop_with_zero_meta_net_is_coop(tiny_backbone):
    torch.manual_seed(0)
    cocoop = CoCoOp(tiny_backbone)
    coop = CoOp(tiny_backbone, ctx_init='a photo of a')
    for learner in (cocoop, coop):
        learner.set_classes(CLASSNAMES, tiny_backbone)
    with torch.no_grad():
        cocoop.meta_net[2].weight.zero_()
        cocoop.meta_net[2].bias.zero_()
        pooled = image_feats(2)
        out = cocoop(tiny_backbone, Features(pooled))
        ref = coop(tiny_backbone, Features(pooled))
    torch.testing.assert_close(out.logits, ref.logits, atol=1e-4, rtol=0)
    torch.testing.assert_close(out.text_features,
                               ref.text_features.expand(2, -1, -1),
                               atol=1e-5, rtol=0)
    # image-free tuned features: the learned context alone (= CoOp's)
    torch.testing.assert_close(
        cocoop.tuned_features(tiny_backbone, ['apple']),
        clip_text(tiny_backbone, ['a photo of a apple.']), atol=1e-5,
        rtol=0)


def test_cocoop_meta_net_shape_and_gradient(tiny_backbone):
    learner = CoCoOp(tiny_backbone)
    assert [m.__class__.__name__ for m in learner.meta_net] == [
        'Linear', 'ReLU', 'Linear']
    assert learner.meta_net[0].in_features == 32  # embed_dim
    assert learner.meta_net[0].out_features == 32 // 16
    assert learner.meta_net[2].out_features == 64  # text width
    learner.set_classes(CLASSNAMES, tiny_backbone)
    out = learner(tiny_backbone, Features(image_feats(2)))
    out.logits.sum().backward()
    assert learner.ctx.grad is not None
    assert learner.meta_net[2].weight.grad.abs().sum() > 0


def test_cocoop_refuses_class_specific(tiny_backbone):
    with pytest.raises(ValueError, match='unified context only'):
        CoCoOp(tiny_backbone, class_specific=True, num_classes=4)


# ---------------------------------------------------------------------- #
# KgCoOp                                                                 #
# ---------------------------------------------------------------------- #
def tiny_model(make_cfg, learner, **kwargs):
    torch.manual_seed(0)
    return MODELS.build(make_cfg(CLASSNAMES, learner=learner, **kwargs))


def test_kgcoop_loss_hand_value_and_zero_weight(make_tiny_classifier_cfg,
                                                tiny_images):
    labels = torch.tensor([[1, 0, 0, 1], [0, 1, 0, 0]])
    model = tiny_model(make_tiny_classifier_cfg, dict(type='KgCoOp'))
    with torch.no_grad():  # move the prompts away from the template
        model.learner.ctx.add_(torch.randn_like(model.learner.ctx))
    losses = model(tiny_images, dict(gt_label=labels), mode='loss')
    backbone = model.backbone
    with torch.no_grad():
        zs = F.normalize(clip_text(
            backbone, [f'a photo of a {n}.' for n in CLASSNAMES]), dim=-1)
        tuned = F.normalize(
            model.learner.class_features(backbone, None), dim=-1)
    expected = 8.0 * (1 - (tuned * zs).sum(-1).mean())
    assert losses['loss_kg'].item() == pytest.approx(expected.item(),
                                                     rel=1e-4)
    assert losses['loss_kg'].item() > 0.1
    # λ = 0: the same losses as CoOp from the same context.
    kg0 = tiny_model(make_tiny_classifier_cfg,
                     dict(type='KgCoOp', loss_weight=0.))
    coop = tiny_model(make_tiny_classifier_cfg,
                      dict(type='CoOp', ctx_init='a photo of a'))
    a = kg0(tiny_images, dict(gt_label=labels), mode='loss')
    b = coop(tiny_images, dict(gt_label=labels), mode='loss')
    assert a['loss_kg'].item() == 0.0
    assert a['loss_cls'].item() == pytest.approx(b['loss_cls'].item(),
                                                 abs=1e-6)


def test_kgcoop_term_survives_any_calibrator_list(make_tiny_classifier_cfg,
                                                  tiny_images):
    """The method's term is the learner's: no calibrator list drops it."""
    labels = torch.tensor([[1, 0, 0, 1], [0, 1, 0, 0]])
    for calibrators in ([], [dict(type='CCR')],
                        [dict(type='TemperatureScaling')]):
        model = tiny_model(make_tiny_classifier_cfg, dict(type='KgCoOp'),
                           calibrators=calibrators)
        assert 'loss_kg' in model(tiny_images, dict(gt_label=labels),
                                  mode='loss')


def test_kgcoop_squared_l2_is_twice_cosine(tiny_backbone):
    kg = KgCoOp(tiny_backbone)
    kg2 = KgCoOp(tiny_backbone, form='squared_l2')
    kg2.load_state_dict(kg.state_dict())
    gen = torch.Generator().manual_seed(1)
    shift = torch.randn(kg.ctx.shape, generator=gen)
    for learner in (kg, kg2):
        learner.set_classes(CLASSNAMES, tiny_backbone)
        with torch.no_grad():
            learner.ctx.add_(shift)
    with torch.no_grad():
        out = kg(tiny_backbone, Features(image_feats(2)))
        a = kg.loss(out, None, tiny_backbone)['loss_kg']
        b = kg2.loss(out, None, tiny_backbone)['loss_kg']
    assert a.item() > 0.1
    assert b.item() == pytest.approx(2 * a.item(), rel=1e-5)
    with pytest.raises(ValueError, match='form'):
        KgCoOp(tiny_backbone, form='l1')


# ---------------------------------------------------------------------- #
# DualCoOp                                                               #
# ---------------------------------------------------------------------- #
def dual(backbone, **kwargs):
    torch.manual_seed(0)
    learner = DualCoOp(backbone, n_ctx=4, **kwargs)
    learner.set_classes(CLASSNAMES, backbone)
    return learner


def test_dualcoop_one_region_is_the_global_score(tiny_backbone):
    learner = dual(tiny_backbone, include_global=False, logit_scale=30.)
    region = image_feats(2).unsqueeze(1)  # (B, 1, D)
    with torch.no_grad():
        out = learner(tiny_backbone, Features(image_feats(2, seed=9),
                                              tokens=region))
        pos, neg = learner.prompt_features(tiny_backbone)
    image = F.normalize(region[:, 0], dim=-1)
    expected = 30. * (image @ pos.t() - image @ neg.t())
    torch.testing.assert_close(out.logits, expected, atol=1e-4, rtol=0)


def test_dualcoop_aggregation_against_a_loop(tiny_backbone):
    learner = dual(tiny_backbone, spatial_temperature=7., logit_scale=20.)
    pooled, tokens = image_feats(2), image_feats(10, seed=5).view(2, 5, 32)
    with torch.no_grad():
        out = learner(tiny_backbone, Features(pooled, tokens=tokens))
        pos, neg = learner.prompt_features(tiny_backbone)
    for b in range(2):
        regions = [pooled[b]] + list(tokens[b])  # global first
        for c in range(len(CLASSNAMES)):
            cos_p = [float(F.cosine_similarity(r, pos[c], dim=0))
                     for r in regions]
            cos_n = [float(F.cosine_similarity(r, neg[c], dim=0))
                     for r in regions]
            w = torch.tensor([7. * x for x in cos_p]).softmax(0).tolist()
            z_pos = 20. * sum(wi * x for wi, x in zip(w, cos_p, strict=True))
            z_neg = 20. * sum(wi * x for wi, x in zip(w, cos_n, strict=True))
            assert out.logits[b, c].item() == pytest.approx(z_pos - z_neg,
                                                            abs=1e-4)


def test_dualcoop_sigmoid_is_the_official_two_way_softmax(tiny_backbone):
    learner = dual(tiny_backbone)
    with torch.no_grad():
        out = learner(tiny_backbone, Features(
            image_feats(3), tokens=image_feats(12, seed=2).view(3, 4, 32)))
    pair = torch.stack([out.extras['logits_neg'], out.extras['logits_pos']],
                       dim=-1)
    torch.testing.assert_close(torch.sigmoid(out.logits),
                               pair.softmax(-1)[..., 1], atol=1e-6, rtol=0)


def test_dualcoop_one_text_pass_gives_both_prompts(tiny_backbone):
    learner = dual(tiny_backbone, ctx_init_pos='a photo of a',
                   ctx_init_neg='no photo of a')
    with torch.no_grad():
        pos, neg = learner.prompt_features(tiny_backbone)
    torch.testing.assert_close(pos, F.normalize(clip_text(
        tiny_backbone, [f'a photo of a {n}.' for n in CLASSNAMES]), dim=-1),
        atol=1e-5, rtol=0)
    torch.testing.assert_close(neg, F.normalize(clip_text(
        tiny_backbone, [f'no photo of a {n}.' for n in CLASSNAMES]), dim=-1),
        atol=1e-5, rtol=0)


def test_dualcoop_through_the_classifier_uses_dense_features(
        make_tiny_classifier_cfg, tiny_images):
    model = tiny_model(make_tiny_classifier_cfg,
                       dict(type='DualCoOp', n_ctx=4),
                       loss=dict(type='AsymmetricLoss'))
    feats = model.extract_feat(tiny_images)
    assert feats.tokens.shape == (2, 16, 32)  # (32 / 8)² patches
    losses = model(tiny_images, dict(gt_label=torch.tensor(
        [[1, 0, 0, 1], [0, 1, 0, 0]])), mode='loss')
    losses['loss_cls'].backward()
    assert model.learner.ctx_pos.grad.abs().sum() > 0
    assert model.learner.ctx_neg.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.backbone.parameters())


# ---------------------------------------------------------------------- #
# ResNet dense features                                                  #
# ---------------------------------------------------------------------- #
TINY_RN = dict(
    embed_dim=16,
    vision_cfg=dict(image_size=64, layers=[1, 1, 1, 1], width=8,
                    head_width=8),
    text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2,
                  layers=1),
)


@pytest.fixture(scope='module')
def tiny_rn():
    torch.manual_seed(0)
    return CLIPBackbone(model_cfg=copy.deepcopy(TINY_RN), pretrained=None)


def test_resnet_dense_pooled_equals_the_image_embedding(tiny_rn):
    images = torch.randn(2, 3, 64, 64)
    pooled, tokens = tiny_rn.encode_image_dense(images)
    torch.testing.assert_close(pooled, tiny_rn.encode_image(images),
                               atol=1e-5, rtol=0)
    assert tokens.shape == (2, (64 // 32) ** 2, 16)


def test_resnet_dense_tokens_average_to_a_uniform_attention_pool(tiny_rn):
    """With zero queries the attention is uniform over the H·W + 1 tokens,
    so the pool's output is the mean of every token's value projection:
    the dense tokens plus the mean token's."""
    rn = copy.deepcopy(tiny_rn)
    pool = rn.clip.visual.attnpool
    with torch.no_grad():
        pool.q_proj.weight.zero_()
        pool.q_proj.bias.zero_()
    images = torch.randn(2, 3, 64, 64)
    pooled, tokens = rn.encode_image_dense(images)
    with torch.no_grad():
        x = rn.clip.visual.stem(images)
        for layer in ('layer1', 'layer2', 'layer3', 'layer4'):
            x = getattr(rn.clip.visual, layer)(x)
        mean_token = x.flatten(2).mean(-1) + pool.positional_embedding[0]
        mean_value = pool.c_proj(pool.v_proj(mean_token))
    expected = (tokens.sum(1) + mean_value) / (tokens.shape[1] + 1)
    torch.testing.assert_close(pooled, expected, atol=1e-5, rtol=0)


# ---------------------------------------------------------------------- #
# SigLIP-style logit bias                                                #
# ---------------------------------------------------------------------- #
def test_bias_from_the_backbone_matches_open_clip_sigmoid_logits(
        tiny_clip_cfg, tiny_images):
    """A CLIP with a learned ``logit_bias`` (SigLIP-style): zero-shot logits
    equal open_clip's own ``get_logits``, so σ(logit) is its probability."""
    torch.manual_seed(0)
    backbone = CLIPBackbone(
        model_cfg=dict(tiny_clip_cfg, init_logit_scale=2.3,
                       init_logit_bias=-4.5), pretrained=None)
    assert backbone.logit_bias == pytest.approx(-4.5)
    assert backbone.logit_scale == pytest.approx(math.exp(2.3), rel=1e-6)
    zs = ZeroShotCLIP()
    zs.set_classes(CLASSNAMES, backbone)
    with torch.no_grad():
        ours = zs(backbone, Features(backbone.encode_image(tiny_images)))
        theirs, _ = backbone.clip.get_logits(
            tiny_images,
            backbone.tokenize([f'a photo of a {n}.' for n in CLASSNAMES]))
    torch.testing.assert_close(ours.logits, theirs, atol=1e-4, rtol=0)
    # CLIP without a bias: None, and no offset
    plain = CLIPBackbone(model_cfg=tiny_clip_cfg, pretrained=None)
    assert plain.logit_bias is None
