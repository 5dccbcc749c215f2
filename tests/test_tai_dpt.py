"""TaI-DPT: dense image path, double-grained score, caption training."""
import math

import pytest
import torch
import torch.nn.functional as F

from mmccr.losses import RankingLoss
from mmccr.models.prompt_learners import Features, PromptTokens, TaIDPT
from mmccr.models.prompt_learners.context import encode_prompts
from mmccr.registry import MODELS

NAMES = ['cat', 'dog', 'boat']
SHORT = 'a cat.'
LONG = 'a dog and a cat sitting on a red couch next to a boat.'


@pytest.fixture
def learner(tiny_backbone):
    torch.manual_seed(3)
    lrn = TaIDPT(tiny_backbone, n_ctx=4)
    lrn.set_classes(NAMES, tiny_backbone)
    return lrn


def patch_tokens_by_hand(visual, images):
    """ViT global feature and projected patch tokens after ln_post."""
    x = visual.conv1(images)  # (B, W, h, w)
    x = x.flatten(2).transpose(1, 2)  # (B, h·w, W)
    cls = visual.class_embedding.expand(x.shape[0], 1, -1)
    x = torch.cat([cls, x], 1) + visual.positional_embedding
    x = visual.ln_post(visual.transformer(visual.ln_pre(x)))
    return x[:, 0] @ visual.proj, x[:, 1:] @ visual.proj


def features_by_name(backbone, learner, ctx):
    """Unit-norm prompt features of NAMES for one context (own pass)."""
    tokens = PromptTokens(backbone, NAMES, learner.n_ctx)
    return F.normalize(encode_prompts(backbone, tokens, ctx), dim=-1)


def loop_logits(pooled, tokens, mask, glob, local, temperature):
    """Both branches with Python loops in float64."""
    num = pooled.shape[0]
    z_g = torch.zeros(num, len(NAMES), dtype=torch.float64)
    z_l = torch.zeros_like(z_g)
    for b in range(num):
        v = pooled[b] / pooled[b].norm()
        real = [t for t, keep in zip(tokens[b], mask[b], strict=True) if keep]
        for c in range(len(NAMES)):
            z_g[b, c] = 4 * float(v @ glob[c])
            cos = [float(t @ local[c] / t.norm()) for t in real]
            weights = [math.exp(temperature * x) for x in cos]
            pooled_cos = sum(
                w * x for w, x in zip(weights, cos, strict=True))
            z_l[b, c] = 4 * pooled_cos / sum(weights)
    return z_g, z_l


def check(out, z_g, z_l):
    close = dict(rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out.extras['logits_global'].double(), z_g,
                               **close)
    torch.testing.assert_close(out.extras['logits_local'].double(), z_l,
                               **close)
    # the double-grained score: 0.5 · global + 0.5 · local
    torch.testing.assert_close(out.logits.double(), 0.5 * z_g + 0.5 * z_l,
                               **close)


def test_image_dense_path_against_loops(tiny_backbone, learner,
                                        tiny_images):
    with torch.no_grad():
        pooled, tokens = patch_tokens_by_hand(tiny_backbone.clip.visual,
                                              tiny_images)
        out = learner(tiny_backbone, Features(
            *tiny_backbone.encode_image_dense(tiny_images)))
        glob = features_by_name(tiny_backbone, learner, learner.ctx_global)
        local = features_by_name(tiny_backbone, learner, learner.ctx_local)
    mask = torch.ones(tokens.shape[:2], dtype=torch.bool)
    z_g, z_l = loop_logits(pooled.double(), tokens.double(), mask,
                           glob.double(), local.double(), temperature=40)
    check(out, z_g, z_l)


def test_caption_path_uses_text_temperature_and_masks_padding(
        tiny_backbone, learner):
    with torch.no_grad():
        pooled, tokens, mask = tiny_backbone.encode_caption([SHORT, LONG])
        out = learner(tiny_backbone,
                      Features(pooled, tokens, mask, modality='text'))
        alone = learner(tiny_backbone, Features(
            *tiny_backbone.encode_caption([SHORT]), modality='text'))
        glob = features_by_name(tiny_backbone, learner, learner.ctx_global)
        local = features_by_name(tiny_backbone, learner, learner.ctx_local)
    z_g, z_l = loop_logits(pooled.double(), tokens.double(), mask,
                           glob.double(), local.double(), temperature=50)
    check(out, z_g, z_l)
    torch.testing.assert_close(alone.logits[0], out.logits[0])


def test_branch_losses(make_tiny_classifier_cfg):
    torch.manual_seed(0)
    model = MODELS.build(make_tiny_classifier_cfg(
        NAMES, learner=dict(type='TaIDPT', n_ctx=4),
        loss=dict(type='RankingLoss')))
    labels = torch.tensor([[1., 0., 0.], [1., 1., 0.]])
    data = model.data_preprocessor(dict(
        inputs=[SHORT, LONG],
        data_samples=dict(gt_label=labels, sample_idx=torch.arange(2))),
        True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_cls_global', 'loss_cls_local'}
    with torch.no_grad():
        out = model.learner(model.backbone,
                            model.extract_feat(data['inputs']))
    rank = RankingLoss()
    for branch in ('global', 'local'):
        torch.testing.assert_close(
            losses[f'loss_cls_{branch}'],
            rank(out.extras[f'logits_{branch}'], labels))
    losses['loss_cls_global'].backward()
    assert model.learner.ctx_global.grad.abs().sum() > 0

    merged = MODELS.build(make_tiny_classifier_cfg(
        NAMES, learner=dict(type='TaIDPT', n_ctx=4, branch_loss=False)))
    assert set(merged(**data, mode='loss')) == {'loss_cls'}


def test_tuned_features_are_the_global_prompts(tiny_backbone, learner):
    with torch.no_grad():
        tuned = F.normalize(learner.tuned_features(tiny_backbone, NAMES),
                            dim=-1)
        glob, local = learner.prompt_features(tiny_backbone)
    torch.testing.assert_close(tuned, glob, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(glob, local)
