"""The frozen-feature cache: exact, keyed, checked, shared by ranks.

The references are independent of the cache: the uncached run of the same
config (losses and metrics), the images the uncached pipeline produces
(which samples are flipped), the image tower run directly on those images,
and the files on disk (one store, rebuilt or reused).
"""
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from test_runner import REPO, demo_cfg, free_port, train_losses

from mmccr.datasets.seeding import SampleIndex
from mmccr.engine import feature_cache
from mmccr.engine.feature_cache import (
    CacheRefused,
    cache_plan,
    prepare_cache,
    use_cache,
)
from mmccr.registry import DATASETS, MODELS
from mmccr.utils.config import load_config


@pytest.fixture(autouse=True)
def _mmccr_scope():
    with DefaultScope.overwrite_default_scope('mmccr'):
        yield


@pytest.fixture
def logged(monkeypatch):
    """The messages the cache logs, in order."""
    messages = []
    monkeypatch.setattr(feature_cache, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    return messages


def stores(root) -> list:
    """The committed cache folders under ``root``."""
    if not osp.isdir(root):
        return []
    return sorted(d for d in os.listdir(root)
                  if osp.isfile(osp.join(root, d, 'meta.json')))


def cached_run(tmp_path, name, enabled, **overrides):
    cfg = demo_cfg(tmp_path, name, **overrides)
    cfg.train_cfg.max_epochs = 2
    cfg.train_cfg.val_interval = 2
    hook = next(h for h in cfg.custom_hooks
                if h['type'] == 'FeatureCacheHook')
    hook.update(enabled=enabled, cache_dir=str(tmp_path / 'cache'))
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    return runner, metrics


def test_cached_training_equals_uncached(tmp_path):
    """Same losses at every iteration and same metrics, flips on."""
    plain, plain_metrics = cached_run(tmp_path / 'a', 'plain', False)
    cached, cached_metrics = cached_run(tmp_path / 'b', 'cached', True)
    assert plain.train_dataloader.dataset.pipeline.transforms[1].prob == .5
    model = cached.model
    assert len(model.feature_caches) == 2  # training and test images
    assert len(stores(tmp_path / 'b' / 'cache')) == 2
    assert not plain.model.feature_caches
    losses_a, losses_b = train_losses(tmp_path / 'a'), \
        train_losses(tmp_path / 'b')
    assert losses_a.keys() == losses_b.keys() and len(losses_a) >= 4
    for key in losses_a:
        assert losses_b[key] == pytest.approx(losses_a[key], abs=1e-5)
    assert cached_metrics.keys() == plain_metrics.keys()
    for key, value in plain_metrics.items():
        assert cached_metrics[key] == pytest.approx(value, abs=1e-5,
                                                    nan_ok=True), key


def build_model_and_set(tmp_path, num_images=12):
    cfg = demo_cfg(tmp_path, 'unit')
    dataset_cfg = dict(cfg.train_dataloader.dataset, num_images=num_images,
                       num_shots=None)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    return model, DATASETS.build(dataset_cfg), dataset_cfg


def test_flips_follow_the_uncached_pipeline(tmp_path):
    """Each sample's view is the one the image pipeline draws, and its
    features are the image tower's on that (flipped or not) image."""
    model, dataset, dataset_cfg = build_model_and_set(tmp_path)
    reference = DATASETS.build(dataset_cfg)  # keeps the image pipeline
    unflipped = DATASETS.build(dict(dataset_cfg, pipeline=[
        dict(type='LoadImage'), dict(type='PackInputs')]))
    name, cached, plan = prepare_cache(model, dataset,
                                       str(tmp_path / 'cache'))
    assert plan.flip_prob == 0.5 and cached.num_views == 2
    use_cache(model, dataset, name, cached, plan)
    views = []
    for epoch in range(3):
        for i in range(len(dataset)):
            index = SampleIndex(i, seed=7, epoch=epoch)
            image = reference[index]['inputs']
            packed = dataset[index]['data_samples']
            views.append(packed['feature_view'])
            flipped = not torch.equal(image, unflipped[i]['inputs'])
            assert packed['feature_view'] == int(flipped)
            assert packed['sample_idx'] == i
            batch = model.data_preprocessor(
                default_collate([reference[index]]), False)
            with torch.no_grad():
                direct = model.backbone.encode_image(batch['inputs'])
            feats = cached.features(torch.tensor([i]),
                                    torch.tensor([int(flipped)]),
                                    torch.device('cpu'), dense=False)
            torch.testing.assert_close(feats.pooled, direct, atol=1e-5,
                                       rtol=0)
    assert 0 < sum(views) < len(views)  # both views occur


def test_rebuilt_on_key_change_and_reused_otherwise(tmp_path):
    root = str(tmp_path / 'cache')
    model, dataset, dataset_cfg = build_model_and_set(tmp_path)
    first, _, _ = prepare_cache(model, dataset, root)
    meta = osp.join(root, first, 'meta.json')
    stamp = os.stat(meta).st_mtime_ns
    again, _, _ = prepare_cache(model, DATASETS.build(dataset_cfg), root)
    assert again == first and os.stat(meta).st_mtime_ns == stamp  # reused
    # another transform (resize), other images, other weights: new stores
    resized = DATASETS.build(dict(dataset_cfg, pipeline=[
        dict(type='LoadImage'), dict(type='Resize', size=16),
        dict(type='Resize', size=32), dict(type='PackInputs')]))
    fewer = DATASETS.build(dict(dataset_cfg, num_images=10))
    names = {first, prepare_cache(model, resized, root)[0],
             prepare_cache(model, fewer, root)[0]}
    with torch.no_grad():
        model.backbone.clip.visual.conv1.weight.mul_(1.01)
    names.add(prepare_cache(model, dataset, root)[0])
    assert len(names) == 4 and len(stores(root)) == 4
    assert os.stat(meta).st_mtime_ns == stamp  # the first store untouched


@pytest.mark.parametrize('damage', ['truncate', 'flip_byte'])
def test_damaged_store_is_rebuilt_with_a_message(tmp_path, damage, logged):
    root = str(tmp_path / 'cache')
    model, dataset, _ = build_model_and_set(tmp_path)
    name, cached, _ = prepare_cache(model, dataset, root)
    expected = np.array(cached.pooled)
    del cached
    path = osp.join(root, name, 'pooled.npy')
    data = bytearray(open(path, 'rb').read())
    data = data[:len(data) // 2] if damage == 'truncate' else \
        data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:]
    with open(path, 'wb') as f:
        f.write(data)
    again, cached, _ = prepare_cache(model, dataset, root)
    out = '\n'.join(logged)
    word = 'truncated' if damage == 'truncate' else 'corrupt'
    assert f'{path} is {word}' in out and 'rebuilding it' in out
    assert again == name
    np.testing.assert_array_equal(np.array(cached.pooled), expected)


def test_random_crop_is_refused_with_its_name(tmp_path):
    _, dataset, dataset_cfg = build_model_and_set(tmp_path)
    from mmccr.registry import TRANSFORMS

    @TRANSFORMS.register_module(force=True)
    class RandomResizedCropForTest:
        def __call__(self, results):
            return results

    dataset = DATASETS.build(dict(dataset_cfg, pipeline=[
        dict(type='LoadImage'), dict(type='RandomResizedCropForTest'),
        dict(type='PackInputs')]))
    with pytest.raises(CacheRefused, match='RandomResizedCropForTest.*not '
                       'known to give the same image'):
        cache_plan(dataset)


def test_config_switch_reaches_the_hook():
    cfg = load_config(osp.join(REPO, 'configs', 'demo',
                               'coop_ccr_shapes_tiny.py'),
                      dict(feature_cache=dict(enabled=False)))
    hook = [h for h in cfg.custom_hooks if h['type'] == 'FeatureCacheHook']
    assert hook == [dict(type='FeatureCacheHook', enabled=False,
                         dtype='float32', cache_dir=None)]
    assert 'feature_cache' not in cfg


def test_float16_store_error_is_measured(tmp_path, logged):
    model, dataset, _ = build_model_and_set(tmp_path)
    name, cached, _ = prepare_cache(model, dataset, str(tmp_path / 'c16'),
                                    dtype='float16')
    name32, exact, _ = prepare_cache(model, dataset, str(tmp_path / 'c32'))
    error = float(np.abs(np.array(cached.pooled, np.float32)
                         - np.array(exact.pooled)).max())
    meta = json.load(open(osp.join(tmp_path / 'c16', name, 'meta.json')))
    assert meta['info']['max_abs_storage_error'] == pytest.approx(
        error, rel=1e-6)
    assert 0 < error < 1e-2
    assert f'float16 max |error| {error:.2e}' in '\n'.join(logged)


TWO_RANKS = '''
import sys, torch, torch.distributed as dist
sys.path.insert(0, {tests!r})
from test_feature_cache import build_model_and_set
from mmccr.engine.feature_cache import prepare_cache
from mmengine.registry import init_default_scope
import pathlib
dist.init_process_group('gloo')
init_default_scope('mmccr')
model, dataset, _ = build_model_and_set(pathlib.Path({tmp!r}))
name, cached, _ = prepare_cache(model, dataset, {root!r}, batch_size=4)
out = {tmp!r} + f'/rank{{dist.get_rank()}}.pt'
torch.save(torch.tensor(cached.pooled[:]), out)
dist.destroy_process_group()
'''


def test_two_processes_write_one_store(tmp_path):
    root = str(tmp_path / 'cache')
    script = tmp_path / 'two.py'
    script.write_text(TWO_RANKS.format(tests=osp.dirname(__file__),
                                       tmp=str(tmp_path), root=root))
    env = {**os.environ, 'OMP_NUM_THREADS': '1',
           'PYTHONPATH': REPO + os.pathsep + os.environ.get('PYTHONPATH', '')}
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
         '2', '--master_port', str(free_port()), str(script)],
        env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(stores(root)) == 1
    assert not [d for d in os.listdir(root) if d.startswith('.tmp-')]
    rank0, rank1 = (torch.load(tmp_path / f'rank{r}.pt') for r in (0, 1))
    assert torch.equal(rank0, rank1)
    model, dataset, _ = build_model_and_set(tmp_path)
    _, single, _ = prepare_cache(model, dataset, str(tmp_path / 'one'))
    torch.testing.assert_close(rank0, torch.tensor(single.pooled[:]),
                               atol=1e-5, rtol=0)


def test_store_over_the_size_limit_is_refused_before_writing(tmp_path):
    root = tmp_path / 'cache'
    model, dataset, _ = build_model_and_set(tmp_path)
    # 12 images x 2 views x 32 floats x 4 bytes = 3072 bytes
    with pytest.raises(CacheRefused, match='would take .* GiB .* max_gib'):
        prepare_cache(model, dataset, str(root), max_gib=3000 / 2**30)
    assert not root.exists() or os.listdir(root) == []
    prepare_cache(model, dataset, str(root), max_gib=3100 / 2**30)
    assert len(stores(root)) == 1


class FakeRunner:
    """What FeatureCacheHook reads of a runner."""

    def __init__(self, model):
        self.model = model
        self.hooks = []


def test_hook_auto_runs_uncached_and_true_raises(tmp_path, monkeypatch):
    from mmccr.engine.hooks import FeatureCacheHook
    from mmccr.engine.hooks import feature_cache_hook as hook_module
    messages = []
    monkeypatch.setattr(hook_module, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    model, _, dataset_cfg = build_model_and_set(tmp_path)
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=[
        dict(type='LoadImage'), dict(type='RandomFlip'),
        dict(type='RandomFlip'), dict(type='PackInputs')]))
    pipeline = dataset.pipeline
    runner = FakeRunner(model)
    FeatureCacheHook(cache_dir=str(tmp_path / 'c'))._prepare(
        runner, dataset, 'training')
    assert dataset.pipeline is pipeline and not model.feature_caches
    assert messages == [
        'Feature cache off for the training set: RandomFlip must be the '
        'last image transform (it comes before RandomFlip): the cache '
        'flips the final image.']
    with pytest.raises(CacheRefused, match='enabled=True but the training'):
        FeatureCacheHook(enabled=True)._prepare(runner, dataset, 'training')
    FeatureCacheHook(enabled=False)._prepare(runner, dataset, 'training')
    assert not model.feature_caches
