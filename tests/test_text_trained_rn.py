"""The text-trained learners on a ResNet CLIP: captions in, images out."""
import pytest
import torch

from mmccr.registry import MODELS

TINY_RN = dict(
    embed_dim=16,
    vision_cfg=dict(image_size=64, layers=[1, 1, 1, 1], width=8,
                    head_width=8),
    text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2,
                  layers=1),
)
BASE = ['cat', 'dog']


@pytest.mark.parametrize('learner', [
    dict(type='TaIDPT', n_ctx=4),
    dict(type='TaIPlusPlus', stage='pretrain', num_classes=2,
         prompt_size=16),
    dict(type='TaIPlusPlus', num_classes=2, prompt_size=16, n_ctx=4),
    dict(type='T2IPAL', n_ctx=4, num_classes=2),
], ids=lambda c: c['type'] + c.get('stage', ''))
def test_train_on_captions_then_predict_images(learner):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='PromptClassifier',
        backbone=dict(type='CLIPBackbone', model_cfg=TINY_RN,
                      pretrained=None),
        learner=learner, loss=dict(type='RankingLoss'), classnames=BASE))
    params = [p for p in model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    optimizer = torch.optim.SGD(params, lr=0.1)
    batch = dict(inputs=['a cat on a mat', 'two dogs', 'a dog and a cat'],
                 data_samples=dict(
                     gt_label=torch.tensor([[1., 0.], [0., 1.], [1., 1.]]),
                     sample_idx=torch.arange(3)))
    data = model.data_preprocessor(batch, True)
    model.train()
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    optimizer.zero_grad()
    total.backward()
    optimizer.step()
    assert any(not torch.equal(a, p) for a, p in zip(before, params,
                                                    strict=True))
    assert all(p.grad is None for p in model.backbone.parameters())
    model.eval()
    model.set_classes(BASE + ['boat'], BASE)
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        logits = model(images, mode='tensor')
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()
