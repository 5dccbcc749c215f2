"""How often and how long the text transformer runs.

* An evaluation encodes the class text once for image-independent
  learners (CoOp, KgCoOp, DualCoOp, zero-shot) and per batch for
  image-conditioned ones (CoCoOp); the reused features equal the per-batch
  ones exactly, so predictions and metrics are identical.
* Every registered learner runs the text transformer on prompts truncated
  to the batch's last end-of-text token, never on all 77 positions.

The transformer's calls are counted with a forward pre-hook on the frozen
``clip.transformer``, independent of the code under test.
"""
import os

import pytest
import torch

from mmccr.models.backbones.stored_text import stored_zero_shot_features
from mmccr.models.prompt_learners import Features
from mmccr.registry import MODELS, PROMPT_LEARNERS

CLASSNAMES = ['cat', 'traffic light', 'hot dog stand']

#: Learners whose class text does not depend on the image.
IMAGE_FREE = [dict(type='CoOp', n_ctx=4), dict(type='KgCoOp'),
              dict(type='DualCoOp', n_ctx=4), dict(type='ZeroShotCLIP')]


class TransformerCalls:
    """Records the sequence length of every text-transformer call."""

    def __init__(self, backbone):
        self.lengths = []
        self.handle = backbone.clip.transformer.register_forward_pre_hook(
            lambda module, args, kwargs: self.lengths.append(
                args[0].shape[1]), with_kwargs=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.remove()


def build(make_cfg, learner):
    torch.manual_seed(0)
    model = MODELS.build(make_cfg(CLASSNAMES, learner=dict(learner)))
    model.eval()
    return model


def batches(num=3, size=2):
    gen = torch.Generator().manual_seed(3)
    return [torch.randn(size, 3, 32, 32, generator=gen) for _ in range(num)]


def predict(model, images):
    with torch.no_grad():
        return torch.cat([model(x, mode='tensor') for x in images])


@pytest.mark.parametrize('learner', IMAGE_FREE, ids=lambda c: c['type'])
def test_evaluation_encodes_the_class_text_once(make_tiny_classifier_cfg,
                                                learner):
    model = build(make_tiny_classifier_cfg, learner)
    images = batches()
    with TransformerCalls(model.backbone) as calls:
        once = predict(model, images)
    assert len(calls.lengths) == 1
    model.learner.reuse_eval_text = False
    with TransformerCalls(model.backbone) as calls:
        per_batch = predict(model, images)
    # (zero-shot features are also kept by the backbone: no pass at all)
    assert len(calls.lengths) == (
        0 if learner['type'] == 'ZeroShotCLIP' else len(images))
    assert torch.equal(once, per_batch)  # so every metric is identical


def test_cocoop_encodes_per_batch_when_evaluating(make_tiny_classifier_cfg):
    model = build(make_tiny_classifier_cfg, dict(type='CoCoOp'))
    images = batches()
    with TransformerCalls(model.backbone) as calls:
        predict(model, images)
    assert len(calls.lengths) == len(images)


def test_reused_features_follow_parameter_and_class_changes(
        make_tiny_classifier_cfg):
    model = build(make_tiny_classifier_cfg, dict(type='CoOp', n_ctx=4))
    images = batches(num=1)
    before = predict(model, images)
    with torch.no_grad():
        model.learner.ctx.mul_(-2.)  # an optimizer step, in place
    after = predict(model, images)
    model.learner.reuse_eval_text = False
    expected = predict(model, images)
    assert not torch.allclose(before, after)
    assert torch.equal(after, expected)
    model.learner.reuse_eval_text = True
    model.set_classes(CLASSNAMES[:2])
    assert predict(model, images).shape == (2, 2)


def test_training_and_grad_mode_never_reuse(make_tiny_classifier_cfg):
    model = build(make_tiny_classifier_cfg, dict(type='CoOp', n_ctx=4))
    images = batches()
    with TransformerCalls(model.backbone) as calls:
        for x in images:  # eval mode but gradients on
            model(x, mode='tensor')
        model.train()
        with torch.no_grad():
            for x in images:
                model(x, mode='tensor')
    assert len(calls.lengths) == 2 * len(images)


def longest_prompt(learner):
    """One past the last end-of-text position over the learner's prompts."""
    tokens = learner.tokens
    return int(tokens.token_ids.argmax(-1).max()) + 1


@pytest.mark.parametrize('name', sorted(PROMPT_LEARNERS.module_dict))
def test_every_learner_truncates_its_prompts(tiny_backbone, name):
    cls = PROMPT_LEARNERS.get(name)
    learner = cls(backbone=tiny_backbone)
    learner.set_classes(CLASSNAMES, tiny_backbone)
    gen = torch.Generator().manual_seed(0)
    feats = Features(torch.randn(3, 32, generator=gen),
                     torch.randn(3, 16, 32, generator=gen))
    with TransformerCalls(tiny_backbone) as calls, torch.no_grad():
        learner.train()  # no reuse: every path runs
        learner(tiny_backbone, feats)
    if getattr(learner, 'tokens', None) is None:  # zero-shot: frozen text
        assert all(n < 77 for n in calls.lengths)
        return
    assert calls.lengths, f'{name} never ran the text transformer'
    assert set(calls.lengths) == {longest_prompt(learner)}
    assert max(calls.lengths) < 77
    # one pass for C prompts (DualCoOp: 2C in one pass); CoCoOp chunks B x C
    chunk = getattr(learner, 'chunk_size', None)
    prompts = 3 * len(learner.tokens) if learner.image_conditioned \
        else len(learner.tokens)
    assert len(calls.lengths) == -(-prompts // (chunk or prompts))


def test_vocabulary_features_are_stored_and_read_back(tiny_backbone,
                                                      tmp_path):
    words = ['lamp', 'sofa', 'rock', 'cloud', 'tree']
    expected = tiny_backbone.zero_shot_features(words, cache=False)
    root = str(tmp_path / 'text')
    first = stored_zero_shot_features(tiny_backbone, words, chunk_size=2,
                                      cache_dir=root)
    with TransformerCalls(tiny_backbone) as calls:
        again = stored_zero_shot_features(tiny_backbone, words,
                                          cache_dir=root)
    assert calls.lengths == []  # read from disk
    torch.testing.assert_close(first, expected, atol=1e-6, rtol=0)
    assert torch.equal(again, first)
    other = stored_zero_shot_features(tiny_backbone, words[:4],
                                      cache_dir=root)
    torch.testing.assert_close(other, expected[:4], atol=1e-6, rtol=0)
    assert len(os.listdir(root)) == 2  # one store per vocabulary
