"""Text-trained configs: captions for training, images for everything else."""
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.registry import DefaultScope

from mmccr.datasets.build import training_loader_cfg
from mmccr.registry import DATASETS
from mmccr.utils.config import load_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def leaf(path, **options):
    return load_config(osp.join(REPO, 'configs', path), options or None)


@pytest.mark.parametrize('path, captions, images', [
    ('demo/taidpt_bce_toyworld.py', 'ToyWorldCaptions', 'ToyWorld'),
    ('taidpt_ccr_coco_16shot.py', 'CocoCaptions', 'CocoMultiLabel'),
])
def test_reference_images_follow_the_training_seed(path, captions, images):
    cfg = leaf(path, **{'train_dataloader.dataset.seed': 3})
    assert cfg.train_dataloader.dataset.type == captions
    assert cfg.train_dataloader.dataset.pipeline == [
        dict(type='PackCaption')]
    reference = training_loader_cfg(cfg)
    assert reference is cfg.reference_dataloader
    assert reference.dataset.type == images
    assert reference.dataset.seed == 3
    assert reference.dataset.num_shots == \
        cfg.train_dataloader.dataset.num_shots == 16
    assert reference.dataset.class_split == 'base'


def test_image_configs_keep_their_training_images():
    cfg = leaf('demo/coop_bce_toyworld.py')
    assert training_loader_cfg(cfg) is cfg.train_dataloader
    zero = leaf('demo/zeroshot_toyworld.py')
    assert training_loader_cfg(zero) is zero.reference_dataloader


def test_coco_caption_leaves_train_on_train2014_captions_only():
    for loss in ('ranking', 'bce', 'ccr'):
        cfg = leaf(f'taidpt_{loss}_coco_16shot.py')
        assert cfg.train_dataloader.dataset.ann_file == \
            'annotations/captions_train2014.json'
        assert 'allow_eval_captions' not in cfg.train_dataloader.dataset
        assert cfg.test_dataloader.dataset.ann_file == \
            'annotations/instances_val2014.json'
        assert cfg.model.loss.type == ('RankingLoss' if loss == 'ranking'
                                       else 'BCELoss')
        assert [c.type for c in cfg.model.calibrators] == (
            ['CCR'] if loss == 'ccr' else [])


def test_coco_leaf_without_data_names_the_caption_file_and_images(
        tmp_path, monkeypatch):
    monkeypatch.setenv('MMCCR_DATA', str(tmp_path / 'data'))
    cfg = leaf('taidpt_ranking_coco_16shot.py')
    with DefaultScope.overwrite_default_scope('mmccr'):
        with pytest.raises(FileNotFoundError) as err:
            DATASETS.build(cfg.train_dataloader.dataset)
    message = str(err.value)
    assert str(tmp_path / 'data' / 'coco' / 'annotations' /
               'captions_train2014.json') in message
    for needed in ('train2014 images', 'val2014 images',
                   'instances_train2014.json'):
        assert needed in message


def test_caption_training_on_two_gloo_processes(tmp_path):
    """Caption batches through the distributed sampler and DDP."""
    work = tmp_path / 'work'
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node',
         '2', '--master_port', '29713', 'tools/train.py',
         'configs/demo/taidpt_bce_toyworld.py', '--work-dir', str(work),
         '--launcher', 'pytorch', '--cfg-options',
         f'train_dataloader.dataset.split_dir={tmp_path}',
         'train_dataloader.dataset.num_shots=1', 'train_cfg.max_epochs=1',
         'train_dataloader.batch_size=4',
         'reference_dataloader.dataset.num_images=200',
         'val_dataloader.dataset.num_images=30'],
        cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    state = torch.load(work / 'epoch_1.pth', weights_only=True)
    assert set(state['state_dict']) == {'learner.ctx_global',
                                        'learner.ctx_local'}
    # the checkpoint records the reference *image* sample
    assert state['meta']['train_split']['dataset'] == 'ToyWorld'


def test_t2ipal_coco_leaf_without_data_names_the_generated_list(
        tmp_path, monkeypatch):
    monkeypatch.setenv('MMCCR_DATA', str(tmp_path / 'data'))
    cfg = leaf('t2ipal_bce_coco_16shot.py')
    assert cfg.reference_dataloader.dataset.type == 'CocoMultiLabel'
    with DefaultScope.overwrite_default_scope('mmccr'):
        with pytest.raises(FileNotFoundError) as err:
            DATASETS.build(cfg.train_dataloader.dataset)
    message = str(err.value)
    assert str(tmp_path / 'data' / 'coco_generated' / 'captions.txt') \
        in message
    assert 'docs/methods/t2i_pal.md' in message
