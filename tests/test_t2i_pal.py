"""T2I-PAL: adapter fusion, heatmap aggregation, prototypes."""
import pytest
import torch
import torch.nn.functional as F

from mmccr.models.prompt_learners import T2IPAL, Features

BASE = ['cat', 'dog']
ALL = BASE + ['boat']


def prompt_only(learner, backbone, feats):
    """Both branches without any adapter, with Python loops."""
    glob, local = learner.text_prompts.prompt_features(backbone)
    v = F.normalize(feats.pooled, dim=-1)
    tokens = F.normalize(feats.tokens, dim=-1)
    z_g = 4 * v @ glob.t()
    z_l = torch.zeros_like(z_g)
    for b in range(v.shape[0]):
        for c, name in enumerate(learner.classnames):
            heat = torch.softmax(40 * tokens[b] @ local[c], dim=0)  # (R,)
            u = (heat[:, None] * tokens[b]).sum(0)
            delta = learner.prototypes[BASE.index(name)] \
                if name in BASE else 0.
            proto = F.normalize(local[c] + delta, dim=-1)
            z_l[b, c] = 4 * F.cosine_similarity(u, proto, dim=0)
    return z_g, z_l


@pytest.mark.parametrize('alpha', [0., 0.5])
def test_alpha_zero_is_the_prompt_only_path(tiny_backbone, tiny_images,
                                            alpha):
    torch.manual_seed(2)
    learner = T2IPAL(tiny_backbone, n_ctx=4, alpha=alpha, num_classes=4)
    with torch.no_grad():
        learner.prototypes.normal_(std=0.1)  # trained prototypes
    learner.set_classes(ALL, tiny_backbone, BASE)
    learner.eval()
    with torch.no_grad():
        feats = Features(*tiny_backbone.encode_image_dense(tiny_images))
        out = learner(tiny_backbone, feats)
        z_g, z_l = prompt_only(learner, tiny_backbone, feats)
    close = dict(rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(out.extras['logits_local'], z_l, **close)
    torch.testing.assert_close(out.logits,
                               0.5 * out.extras['logits_global'] +
                               0.5 * z_l, **close)
    if alpha == 0.:
        torch.testing.assert_close(out.extras['logits_global'], z_g,
                                   **close)
    else:  # the adapter changes the global branch
        assert not torch.allclose(out.extras['logits_global'], z_g,
                                  atol=1e-3)


def test_adapter_and_prototypes_train(make_tiny_classifier_cfg,
                                      tiny_images):
    from mmccr.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(make_tiny_classifier_cfg(
        BASE, learner=dict(type='T2IPAL', n_ctx=4, num_classes=4)))
    labels = torch.tensor([[1., 0.], [0., 1.]])
    losses = model(tiny_images, dict(gt_label=labels,
                                     sample_idx=torch.arange(2)),
                   mode='loss')
    assert set(losses) == {'loss_cls_global', 'loss_cls_local'}
    sum(losses.values()).backward()
    learner = model.learner
    assert learner.prototypes.grad[:2].abs().sum() > 0
    assert learner.prototypes.grad[2:].abs().sum() == 0  # unused slots
    assert learner.visual_adapter.mlp[0].weight.grad.abs().sum() > 0
    assert set(k.split('.')[1] for k in model.state_dict()) == {
        'text_prompts', 'visual_adapter', 'prototypes'}


def test_generated_images_with_their_captions(make_tiny_classifier_cfg):
    from mmccr.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(make_tiny_classifier_cfg(
        BASE, learner=dict(type='T2IPAL', n_ctx=4, num_classes=4,
                           caption_weight=0.5)))
    gen = torch.Generator().manual_seed(3)
    images = torch.randint(0, 256, (2, 3, 32, 32), generator=gen,
                           dtype=torch.uint8)
    texts = ['a cat on a mat', 'a dog in the park']
    labels = torch.tensor([[1., 0.], [0., 1.]])
    batch = dict(inputs=dict(img=images, text=texts),
                 data_samples=dict(gt_label=labels,
                                   sample_idx=torch.arange(2)))
    data = model.data_preprocessor(batch, True)
    assert data['inputs']['text'] == texts
    alone = model.data_preprocessor(
        dict(inputs=images, data_samples=batch['data_samples']), True)
    torch.testing.assert_close(data['inputs']['img'], alone['inputs'])
    model.eval()  # no dropout: compare paths
    with torch.no_grad():
        paired = model.learner(model.backbone,
                               model.extract_feat(data['inputs']))
        image_only = model.learner(model.backbone,
                                   model.extract_feat(alone['inputs']))
        caption_only = model.learner(model.backbone,
                                     model.extract_feat(texts))
    torch.testing.assert_close(paired.logits, image_only.logits)
    for branch in ('global', 'local'):
        torch.testing.assert_close(
            paired.extras[f'logits_caption_{branch}'],
            caption_only.extras[f'logits_{branch}'])
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_cls_global', 'loss_cls_local',
                           'loss_caption_global', 'loss_caption_local'}
    rank = model.loss_fn
    torch.testing.assert_close(
        losses['loss_caption_local'],
        0.5 * rank(caption_only.extras['logits_local'], labels))
