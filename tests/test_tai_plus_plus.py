"""TaI++: pseudo-visual prompts, adapters, stage 2 loading stage 1."""
import os.path as osp

import torch

from mmccr.apis import prepare_stages
from mmccr.models.prompt_learners import Features
from mmccr.models.prompt_learners.adapters import ResidualAdapter
from mmccr.registry import MODELS
from mmccr.utils.config import load_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASE = ['cat', 'dog']
ALL = BASE + ['boat']


def test_residual_adapter_mixes_input_and_mlp():
    torch.manual_seed(0)
    adapter = ResidualAdapter(8, alpha=0.6, dropout=0.).eval()
    x = torch.randn(3, 8)
    fc1, fc2 = adapter.mlp[0].weight, adapter.mlp[3].weight
    expected = 0.6 * x + 0.4 * (torch.relu(x @ fc1.t()) @ fc2.t())
    torch.testing.assert_close(adapter(x), expected)
    assert torch.equal(ResidualAdapter(8, alpha=1.)(x), x)
    # training mode: dropout is random unless switched off
    noisy = ResidualAdapter(8, alpha=0.6, dropout=0.6).train()
    noisy.load_state_dict(adapter.state_dict())
    torch.testing.assert_close(noisy(x, dropout=False), expected)
    assert not torch.allclose(noisy(x), expected)


def build(make_cfg, stage, **learner):
    torch.manual_seed(1)
    model = MODELS.build(make_cfg(learner=dict(
        type='TaIPlusPlus', stage=stage, num_classes=4, prompt_size=16,
        **learner)))
    model.set_classes(BASE)
    return model


def test_stage2_loads_stage1_and_keeps_its_pvp_branch(
        make_tiny_classifier_cfg, tiny_images):
    stage1 = build(make_tiny_classifier_cfg, 'pretrain')
    labels = torch.tensor([[1., 0.], [0., 1.]])
    data = stage1.data_preprocessor(dict(
        inputs=['a cat on a mat', 'a dog and a ball'],
        data_samples=dict(gt_label=labels, sample_idx=torch.arange(2))),
        True)
    losses = stage1(**data, mode='loss')
    assert set(losses) == {'loss_pvp_global', 'loss_pvp_local'}
    sum(losses.values()).backward()
    with torch.no_grad():
        stage1.learner.pvp.pixels -= stage1.learner.pvp.pixels.grad
    state = stage1.state_dict()
    assert set(state) == {'learner.pvp.pixels'}  # trainable only

    # alpha=1: adapters are the identity, so the PVP branch is stage 1's
    stage2 = build(make_tiny_classifier_cfg, 'colearn', alpha=1.)
    missing, unexpected = stage2.load_state_dict(state, strict=False)
    assert not unexpected
    assert all(k.startswith(('learner.text_prompts.', 'learner.text_adapter',
                             'learner.image_adapter')) for k in missing)
    assert torch.equal(stage2.learner.pvp.pixels, stage1.learner.pvp.pixels)
    stage1.eval()
    stage2.eval()
    for model in (stage1, stage2):
        model.set_classes(ALL, BASE)  # 'boat' has no PVP: zero-shot prior
    with torch.no_grad():
        feats = Features(*stage1.backbone.encode_image_dense(tiny_images))
        one = stage1.learner(stage1.backbone, feats)
        two = stage2.learner(stage2.backbone, feats)
    for key in ('logits_pvp_global', 'logits_pvp_local'):
        torch.testing.assert_close(two.extras[key], one.extras[key])
    torch.testing.assert_close(
        one.logits, one.extras['logits_pvp_global'] +
        one.extras['logits_pvp_local'])
    torch.testing.assert_close(two.logits, sum(
        two.extras[f'logits_{b}'] for b in
        ('pvp_global', 'pvp_local', 'text_global', 'text_local')))
    # the new class's global prototype is its zero-shot text feature
    image = torch.nn.functional.normalize(feats.pooled, dim=-1)
    prior = stage1.backbone.zero_shot_features(['boat'])[0]
    torch.testing.assert_close(one.extras['logits_pvp_global'][:, 2],
                               4 * image @ prior)


def test_prepare_stages_trains_stage1_then_loads_it(tmp_path):
    stage1 = tmp_path / 'stage1_cfg.py'
    stage1.write_text(
        f"_base_ = ['{REPO}/configs/demo/taiplusplus_pretrain_toyworld.py']\n"
        'train_cfg = dict(max_epochs=1, val_interval=5)\n'
        f"train_dataloader = dict(batch_size=4, dataset=dict(num_shots=1, "
        f"num_captions=300, split_dir='{tmp_path}'))\n"
        'reference_dataloader = dict(dataset=dict(num_images=100))\n',
        encoding='utf-8')
    cfg = load_config(
        osp.join(REPO, 'configs/demo/taiplusplus_bce_toyworld.py'),
        {'load_from_config': str(stage1)})
    cfg.work_dir = str(tmp_path / 'work')
    assert cfg.get('load_from') is None
    prepare_stages(cfg)
    assert cfg.load_from == str(tmp_path / 'work' / 'stage1' /
                                'epoch_1.pth')
    state = torch.load(cfg.load_from, weights_only=True)['state_dict']
    assert set(state) == {'learner.pvp.pixels'}
    again = prepare_stages(cfg)  # load_from set: nothing to do
    assert again.load_from == cfg.load_from
