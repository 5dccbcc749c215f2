"""Tests of prompt assembly, CoOp and ``PromptClassifier``.

The independent reference for prompt assembly is open_clip's own
``encode_text`` on the equivalent plain-text prompt: CoOp initialised from
the words ``'a photo of a'`` must give exactly the features of the sentence
those words make with the class name.
"""
import pytest
import torch
import torch.nn.functional as F
from mmengine.runner.checkpoint import get_state_dict, load_state_dict

from mmccr.models.prompt_learners import BasePromptLearner, CoOp, Features
from mmccr.registry import MODELS

CLASSNAMES = ['cat', 'traffic light', 'hot dog stand']


def clip_text(backbone, texts):
    """open_clip's own text features of plain strings."""
    return backbone.clip.encode_text(backbone.tokenizer(texts))


def cosine_logits(scale, image, text):
    return scale * F.normalize(image, dim=-1) @ F.normalize(text, dim=-1).t()


# ---------------------------------------------------------------------- #
# prompt assembly                                                        #
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize('ctx_init, position, template', [
    ('a photo of a', 'end', 'a photo of a {}.'),
    ('a_photo_of_a', 'end', 'a photo of a {}.'),
    ('a photo of a', 'front', '{} a photo of a.'),
    ('a photo of a', 'middle', 'a photo {} of a.'),
    ('a photo of', 'middle', 'a {} photo of.'),  # odd n_ctx: 1 before
])
def test_coop_from_words_equals_the_sentence(tiny_backbone, ctx_init,
                                             position, template):
    learner = CoOp(tiny_backbone, n_ctx=16, ctx_init=ctx_init,
                   class_token_position=position)
    learner.set_classes(CLASSNAMES, tiny_backbone)
    with torch.no_grad():
        feats = learner.class_features(tiny_backbone, None)
    expected = clip_text(tiny_backbone,
                         [template.format(n) for n in CLASSNAMES])
    assert feats.shape == (3, 32)
    torch.testing.assert_close(feats, expected, atol=1e-5, rtol=0)


def test_ctx_init_takes_the_word_embeddings(tiny_backbone):
    learner = CoOp(tiny_backbone, n_ctx=16, ctx_init='a photo of a')
    words = tiny_backbone.tokenizer.encode('a photo of a')
    assert learner.n_ctx == len(words) == 4
    assert learner.ctx.requires_grad
    torch.testing.assert_close(
        learner.ctx.data, tiny_backbone.token_embedding.weight[words],
        atol=0, rtol=0)


def hand_built_prompt(backbone, name, ctx, position):
    """Embeddings ``(77, W)`` of SOT, context and name in the order of
    ``position``, '.', EOT and padding, built from the tokenizer."""
    tok = backbone.tokenizer
    n_ctx = ctx.shape[0]
    name_ids = tok.encode(name)
    before = {'end': n_ctx, 'front': 0, 'middle': n_ctx // 2}[position]
    ids = ([tok.sot_token_id] + [0] * before + name_ids +
           [0] * (n_ctx - before) + tok.encode('.') + [tok.eot_token_id])
    ids = torch.tensor(ids + [0] * (77 - len(ids)))
    embeds = backbone.token_embedding(ids).clone()
    ctx_pos = list(range(1, 1 + before)) + list(
        range(1 + before + len(name_ids), 1 + n_ctx + len(name_ids)))
    embeds[ctx_pos] = ctx
    eot = 1 + n_ctx + len(name_ids) + 1
    return embeds, eot


@pytest.mark.parametrize('position', ['end', 'front', 'middle'])
@pytest.mark.parametrize('n_ctx', [4, 5])
def test_assemble_matches_hand_built_prompt(tiny_backbone, position, n_ctx):
    torch.manual_seed(0)
    learner = CoOp(tiny_backbone, n_ctx=n_ctx,
                   class_token_position=position)
    learner.set_classes(CLASSNAMES, tiny_backbone)
    with torch.no_grad():
        prompts = learner.tokens.assemble(learner.ctx, position)
    assert prompts.shape == (3, 77, 64)
    eot_embedding = tiny_backbone.token_embedding.weight[
        tiny_backbone.tokenizer.eot_token_id]
    for i, name in enumerate(CLASSNAMES):
        expected, eot = hand_built_prompt(tiny_backbone, name,
                                          learner.ctx.detach(), position)
        torch.testing.assert_close(prompts[i], expected, atol=0, rtol=0)
        # Moving the name leaves the EOT where the token ids say it is.
        assert learner.tokens.token_ids[i].argmax() == eot
        torch.testing.assert_close(
            prompts[i, eot], eot_embedding, atol=0, rtol=0)


def test_class_specific_context_goes_to_its_class(tiny_backbone):
    phrases = ['a photo of a', 'a drawing of the', 'a photo of a']
    ids = [tiny_backbone.tokenizer.encode(p) for p in phrases]
    assert all(len(i) == 4 for i in ids)
    learner = CoOp(tiny_backbone, n_ctx=4, class_specific=True,
                   num_classes=3)
    learner.set_classes(CLASSNAMES, tiny_backbone)
    with torch.no_grad():
        learner.ctx.copy_(
            torch.stack([tiny_backbone.token_embedding.weight[i]
                         for i in ids]))
        feats = learner.class_features(tiny_backbone, None)
    expected = clip_text(
        tiny_backbone,
        [f'{p} {n}.' for p, n in zip(phrases, CLASSNAMES, strict=True)])
    torch.testing.assert_close(feats, expected, atol=1e-5, rtol=0)


def test_class_specific_ctx_init_is_repeated(tiny_backbone):
    learner = CoOp(tiny_backbone, ctx_init='a photo of a',
                   class_specific=True, num_classes=3)
    assert learner.ctx.shape == (3, 4, 64)
    words = tiny_backbone.tokenizer.encode('a photo of a')
    for ctx in learner.ctx.detach():
        torch.testing.assert_close(
            ctx, tiny_backbone.token_embedding.weight[words], atol=0, rtol=0)


# ---------------------------------------------------------------------- #
# random initialisation and argument checks                              #
# ---------------------------------------------------------------------- #
def test_random_init_unified(tiny_backbone):
    torch.manual_seed(0)
    learner = CoOp(tiny_backbone, n_ctx=16)
    ctx = learner.ctx.detach()
    assert learner.n_ctx == 16
    assert ctx.shape == (16, 64) and ctx.dtype == torch.float32
    assert learner.ctx.requires_grad
    # 1024 draws: the std of the sample std is 0.02 / sqrt(2048) ~ 4.4e-4.
    assert abs(ctx.std().item() - 0.02) < 2e-3
    assert abs(ctx.mean().item()) < 3e-3


def test_random_init_class_specific(tiny_backbone):
    torch.manual_seed(0)
    learner = CoOp(tiny_backbone, n_ctx=8, class_specific=True,
                   num_classes=5, init_std=0.1)
    ctx = learner.ctx.detach()
    assert ctx.shape == (5, 8, 64)
    assert abs(ctx.std().item() - 0.1) < 5e-3  # 2560 draws
    assert not torch.allclose(ctx[0], ctx[1])


def test_class_specific_needs_num_classes(tiny_backbone):
    with pytest.raises(ValueError, match='num_classes'):
        CoOp(tiny_backbone, n_ctx=4, class_specific=True)


def test_class_specific_rejects_another_class_count(tiny_backbone):
    learner = CoOp(tiny_backbone, n_ctx=4, class_specific=True,
                   num_classes=2)
    with pytest.raises(ValueError, match='2 classes'):
        learner.set_classes(CLASSNAMES, tiny_backbone)


def test_unknown_class_token_position(tiny_backbone):
    with pytest.raises(ValueError, match='class_token_position'):
        CoOp(tiny_backbone, n_ctx=4, class_token_position='back')


def test_text_features_before_set_classes(tiny_backbone):
    with pytest.raises(RuntimeError, match='set_classes'):
        CoOp(tiny_backbone, n_ctx=4).class_features(tiny_backbone, None)


# ---------------------------------------------------------------------- #
# logits and gradients                                                   #
# ---------------------------------------------------------------------- #
class FixedText(BasePromptLearner):
    """A learner whose text features are given."""

    def __init__(self, text, **kwargs):
        super().__init__(**kwargs)
        self.text = text

    def class_features(self, backbone, features):
        return self.text


class ScaleOnly:
    """A stand-in backbone with a learned scale and bias."""

    def __init__(self, scale=100., bias=None):
        self.logit_scale, self.logit_bias = scale, bias


def test_forward_is_scaled_cosine():
    gen = torch.Generator().manual_seed(0)
    image = torch.randn(4, 8, generator=gen) * 3
    text = torch.randn(5, 8, generator=gen) * 0.1
    out = FixedText(text)(ScaleOnly(100.), Features(image))
    assert out.logits.shape == (4, 5)
    torch.testing.assert_close(
        out.logits, cosine_logits(100., image, text), atol=1e-4, rtol=0)
    # The output carries the unit-norm class features it used.
    torch.testing.assert_close(out.text_features,
                               text / text.norm(dim=-1, keepdim=True))
    logits = FixedText(text, logit_scale=7.)(ScaleOnly(3.),
                                             Features(image)).logits
    torch.testing.assert_close(
        logits, cosine_logits(7., image, text), atol=1e-5, rtol=0)


def test_logit_bias_from_the_backbone_or_the_learner():
    gen = torch.Generator().manual_seed(0)
    image = torch.randn(4, 8, generator=gen)
    text = torch.randn(5, 8, generator=gen)
    plain = cosine_logits(10., image, text)
    logits = FixedText(text)(ScaleOnly(10., -3.), Features(image)).logits
    torch.testing.assert_close(logits, plain - 3., atol=1e-5, rtol=0)
    logits = FixedText(text, logit_bias=2.)(ScaleOnly(10., -3.),
                                           Features(image)).logits
    torch.testing.assert_close(logits, plain + 2., atol=1e-5, rtol=0)


def test_forward_with_per_image_text_features():
    gen = torch.Generator().manual_seed(0)
    image = torch.randn(3, 8, generator=gen)
    text = torch.randn(3, 5, 8, generator=gen)
    logits = FixedText(text, logit_scale=10.)(ScaleOnly(),
                                              Features(image)).logits
    expected = torch.stack([
        cosine_logits(10., image[b:b + 1], text[b])[0] for b in range(3)
    ])
    torch.testing.assert_close(logits, expected, atol=1e-5, rtol=0)


def test_coop_logits_against_open_clip(tiny_backbone, tiny_images):
    learner = CoOp(tiny_backbone, ctx_init='a photo of a', logit_scale=7.)
    learner.set_classes(CLASSNAMES, tiny_backbone)
    pooled = tiny_backbone.clip.encode_image(tiny_images)
    logits = learner(tiny_backbone, Features(pooled)).logits
    text = clip_text(tiny_backbone, [f'a photo of a {n}.' for n in CLASSNAMES])
    torch.testing.assert_close(
        logits, cosine_logits(7., pooled, text), atol=1e-5, rtol=0)


def test_none_logit_scale_takes_the_backbones_learned_scale(
        tiny_clip_cfg, tiny_images):
    """``logit_scale=None``: exp of CLIP's own ``logit_scale`` parameter."""
    from mmccr.models.backbones.clip import CLIPBackbone
    tiny_clip_cfg.pop('init_logit_scale')  # open_clip's init: 1 / 0.07
    backbone = CLIPBackbone(model_cfg=tiny_clip_cfg, pretrained=None)
    learned = float(backbone.clip.logit_scale.detach().exp())
    assert backbone.logit_scale == pytest.approx(learned)
    assert learned == pytest.approx(1 / 0.07)
    learner = CoOp(backbone, ctx_init='a photo of a', logit_scale=None)
    learner.set_classes(CLASSNAMES, backbone)
    pooled = backbone.clip.encode_image(tiny_images)
    logits = learner(backbone, Features(pooled)).logits
    text = clip_text(backbone, [f'a photo of a {n}.' for n in CLASSNAMES])
    torch.testing.assert_close(
        logits, cosine_logits(learned, pooled, text), atol=1e-5, rtol=0)


# ---------------------------------------------------------------------- #
# PromptClassifier                                                       #
# ---------------------------------------------------------------------- #
@pytest.fixture(scope='module')
def classifier(make_tiny_classifier_cfg):
    """CoOp('a photo of a') + BCE + CCR on the tiny CLIP, 3 classes."""
    torch.manual_seed(0)
    return MODELS.build(
        make_tiny_classifier_cfg(
            CLASSNAMES,
            learner=dict(type='CoOp', ctx_init='a photo of a'),
            calibrators=[dict(type='CCR')]))


@pytest.fixture
def batch():
    return dict(
        gt_label=torch.tensor([[1, 0, 1], [0, 1, 0]]),
        sample_idx=torch.tensor([7, 3]))


def test_classifier_tensor_mode(classifier, tiny_images):
    backbone = classifier.backbone
    logits = classifier(tiny_images, mode='tensor')
    assert logits.shape == (2, 3)
    text = clip_text(backbone, [f'a photo of a {n}.' for n in CLASSNAMES])
    expected = cosine_logits(
        100., backbone.clip.encode_image(tiny_images), text)
    torch.testing.assert_close(logits, expected, atol=1e-4, rtol=0)


def test_classifier_loss_mode(classifier, tiny_images, batch):
    losses = classifier(tiny_images, batch, mode='loss')
    assert {'loss_cls', 'loss_ccr'} <= set(losses)
    logits = classifier(tiny_images, mode='tensor')
    expected = F.binary_cross_entropy_with_logits(
        logits, batch['gt_label'].float())
    torch.testing.assert_close(losses['loss_cls'], expected)
    assert losses['loss_ccr'].dim() == 0
    assert torch.isfinite(losses['loss_ccr'])
    assert losses['loss_ccr'].requires_grad


def test_classifier_without_calibrators_has_only_loss_cls(
        make_tiny_classifier_cfg, tiny_images, batch):
    model = MODELS.build(make_tiny_classifier_cfg(CLASSNAMES))
    assert set(model(tiny_images, batch, mode='loss')) == {'loss_cls'}


def test_classifier_predict_mode(classifier, tiny_images, batch):
    results = classifier(tiny_images, batch, mode='predict')
    logits = classifier(tiny_images, mode='tensor')
    pooled = classifier.backbone.clip.encode_image(tiny_images)
    assert isinstance(results, list) and len(results) == 2
    for i, result in enumerate(results):
        assert set(result) == {'logits', 'gt_label', 'img_feat',
                               'sample_idx'}
        assert not result['logits'].requires_grad
        torch.testing.assert_close(result['logits'], logits[i].detach())
        torch.testing.assert_close(result['img_feat'], pooled[i])
        assert torch.equal(result['gt_label'], batch['gt_label'][i])
        assert result['sample_idx'] == batch['sample_idx'][i]


def test_classifier_invalid_mode(classifier, tiny_images):
    with pytest.raises(ValueError, match='nonsense'):
        classifier(tiny_images, mode='nonsense')


def test_classifier_gradients_reach_only_the_context(classifier,
                                                     tiny_images, batch):
    backbone = classifier.backbone
    classifier.train()
    try:
        assert not any(m.training for m in backbone.modules())
        assert all(not p.requires_grad for p in backbone.parameters())
        losses = classifier(tiny_images, batch, mode='loss')
        sum(v for k, v in losses.items() if 'loss' in k).backward()
        grad = classifier.learner.ctx.grad
        assert grad is not None and grad.abs().sum() > 0
        assert all(p.grad is None for p in backbone.parameters())
        trainable = [
            n for n, p in classifier.named_parameters() if p.requires_grad
        ]
        assert trainable == ['learner.ctx']
    finally:
        classifier.learner.ctx.grad = None
        classifier.eval()


def test_classifier_default_data_preprocessor(classifier):
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    out = classifier.data_preprocessor(dict(inputs=images), training=False)
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(3, 1, 1)
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(3, 1, 1)
    expected = (images.float() / 255 - mean) / std
    torch.testing.assert_close(out['inputs'], expected, atol=1e-5, rtol=0)


# ---------------------------------------------------------------------- #
# checkpoints                                                            #
# ---------------------------------------------------------------------- #
def backbone_snapshot(model):
    return {
        k: v.clone()
        for k, v in model.backbone.clip.state_dict().items()
    }


def assert_same_weights(model, snapshot):
    state = model.backbone.clip.state_dict()
    assert state.keys() == snapshot.keys()
    for key, value in snapshot.items():
        assert torch.equal(state[key], value), key


def test_state_dict_holds_only_learner_params(classifier):
    assert list(classifier.state_dict()) == ['learner.ctx']
    assert list(get_state_dict(classifier)) == ['learner.ctx']


@pytest.mark.parametrize('loader', ['torch', 'mmengine'])
def test_load_state_dict_strict(classifier, loader):
    original = classifier.learner.ctx.detach().clone()
    snapshot = backbone_snapshot(classifier)
    state = {'learner.ctx': original + 1}
    try:
        if loader == 'torch':
            result = classifier.load_state_dict(state, strict=True)
            assert not result.missing_keys
            assert not result.unexpected_keys
        else:
            load_state_dict(classifier, state, strict=True)
        assert list(state) == ['learner.ctx']  # the caller's dict
        assert torch.equal(classifier.learner.ctx.detach(), original + 1)
        assert_same_weights(classifier, snapshot)
    finally:
        with torch.no_grad():
            classifier.learner.ctx.copy_(original)


def test_unexpected_key_still_fails_strict_loading(classifier):
    state = {'learner.ctx': classifier.learner.ctx.detach(), 'extra': 1}
    with pytest.raises(RuntimeError, match='extra'):
        classifier.load_state_dict(state, strict=True)


# ---------------------------------------------------------------------- #
# building and classes                                                   #
# ---------------------------------------------------------------------- #
def test_unknown_prompt_learner_type(make_tiny_classifier_cfg):
    cfg = make_tiny_classifier_cfg(
        CLASSNAMES, learner=dict(type='NoSuchLearner'))
    with pytest.raises(KeyError, match='NoSuchLearner'):
        MODELS.build(cfg)


def test_classes_come_from_set_classes(make_tiny_classifier_cfg,
                                       tiny_images):
    model = MODELS.build(
        make_tiny_classifier_cfg(calibrators=[dict(type='CCR')]))
    with pytest.raises(RuntimeError, match='ClassSetHook'):
        model(tiny_images)
    names = ['boat', 'tree', 'lamp', 'horse']
    model.set_classes(names)
    assert model(tiny_images).shape == (2, 4)
    # The calibrator received the zero-shot similarities of those classes.
    zero_shot = F.normalize(
        clip_text(model.backbone, [f'a photo of a {n}.' for n in names]),
        dim=-1)
    torch.testing.assert_close(
        model.calibrators[0].text_sim, zero_shot @ zero_shot.t(),
        atol=1e-5, rtol=0)
    model.set_classes(names[:2])
    assert model(tiny_images).shape == (2, 2)
