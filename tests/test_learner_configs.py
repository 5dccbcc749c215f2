"""Learner configs: composition from bases, and every learner through the
tools on the toy world (train, test with post-hoc calibrators, 1 vs 2
processes).
"""
import glob
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmccr.models import BasePromptLearner
from mmccr.registry import PROMPT_LEARNERS
from mmccr.utils.config import MODEL_PARTS, load_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
LEAVES = sorted(glob.glob(osp.join(REPO, 'configs', '*.py')) +
                glob.glob(osp.join(REPO, 'configs', 'demo', '*.py')) +
                glob.glob(osp.join(REPO, 'configs', 'dg', '*.py')) +
                glob.glob(osp.join(REPO, 'configs', 'demo', 'paper', '*.py')))
PAPER_LEAVES = sorted(
    glob.glob(osp.join(REPO, 'configs', 'demo', 'paper', '*.py')))


@pytest.mark.parametrize('leaf', LEAVES, ids=osp.basename)
def test_every_leaf_composes_one_model(leaf):
    cfg = load_config(leaf)
    assert not set(MODEL_PARTS) & set(cfg.keys())  # all moved into model
    model = cfg.model
    assert model.type == 'PromptClassifier'
    assert {'backbone', 'learner', 'loss'} <= set(model)
    assert isinstance(model.get('calibrators', []), list)
    with open(leaf, encoding='utf-8') as f:
        text = f.read()
    assert 'model = dict(' not in text  # no glue lines in leaves
    assert len(text.splitlines()) <= 30  # fits on one screen


def test_composition_reads_each_axis_from_its_base():
    cfg = load_config(osp.join(REPO, 'configs', 'kgcoop_ccr_coco_16shot.py'))
    assert cfg.model.backbone.model_name == 'ViT-B-16-quickgelu'
    assert cfg.model.learner.type == 'KgCoOp'
    assert cfg.model.learner.loss_weight == 8.0
    assert [c.type for c in cfg.model.calibrators] == ['CCR']
    assert cfg.model.loss.type == 'BCELoss'
    cfg = load_config(osp.join(REPO, 'configs', 'dualcoop_bce_coco_16shot.py'))
    assert cfg.model.loss.type == 'AsymmetricLoss'  # the learner's default
    # A leaf override and --cfg-options reach the composed model.
    cfg = load_config(
        osp.join(REPO, 'configs', 'coop_ranking_coco_16shot.py'),
        {'learner.n_ctx': 8, 'model.calibrators': [dict(type='DAC')]})
    assert cfg.model.loss.type == 'RankingLoss'
    assert cfg.model.learner.n_ctx == 8
    assert [c['type'] for c in cfg.model.calibrators] == ['DAC']


def test_bases_stay_on_their_axis():
    """N learners × M backbones need N + M bases: each sets one axis."""
    axes = dict(backbones={'backbone', 'tiny_clip'},
                learners={'learner', 'loss'},
                calibrators={'calibrators'})
    for axis, allowed in axes.items():
        for path in glob.glob(osp.join(REPO, 'configs', '_base_', axis,
                                       '*.py')):
            keys = set(Config.fromfile(path).keys())
            assert keys and keys <= allowed, (path, keys)


def trainable_learners():
    """Registered learners with parameters (the zero-shot one has none)."""
    names = []
    for name, cls in sorted(PROMPT_LEARNERS.module_dict.items()):
        if issubclass(cls, BasePromptLearner) and name != 'ZeroShotCLIP':
            names.append(name)
    return names


@pytest.mark.parametrize('leaf', PAPER_LEAVES, ids=osp.basename)
def test_paper_leaves_change_only_the_test_evaluator(leaf):
    """A demo leaf under the `paper` preset trains exactly as the demo leaf
    (so its numbers can be read off the same checkpoints)."""
    paper = load_config(leaf)
    default = load_config(leaf.replace(osp.join('demo', 'paper', ''),
                                       osp.join('demo', '')).replace(
                                           '_paper.py', '.py'))
    assert [e['mapping'] for e in paper.test_evaluator
            if e['type'] == 'MultiLabelCalibration'] == ['dac']
    assert all('Avg' in e['groups'] for e in paper.test_evaluator)
    for key in set(paper.keys()) | set(default.keys()):
        if key != 'test_evaluator' and not key.startswith('paper_'):
            assert paper.get(key) == default.get(key), key


def test_every_learner_has_coco_and_toy_configs():
    for name in trainable_learners():
        stem = name.lower()
        for path in (f'configs/{stem}_ccr_coco_16shot.py',
                     f'configs/demo/{stem}_bce_toyworld.py',
                     f'configs/demo/{stem}_ccr_toyworld.py'):
            assert osp.isfile(osp.join(REPO, path)), path
            assert load_config(osp.join(REPO, path)).model.learner.type == \
                name


def run(args):
    proc = subprocess.run([sys.executable, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.parametrize('learner', trainable_learners())
def test_learner_trains_and_tests_with_posthoc_calibrators(tmp_path,
                                                           learner):
    """tools/train.py, then tools/test.py --calibrators dac tempscale on 1
    and on 2 gloo processes: the same metrics."""
    config = f'configs/demo/{learner.lower()}_bce_toyworld.py'
    short = [
        f'train_dataloader.dataset.split_dir={tmp_path}',
        'train_dataloader.dataset.num_shots=1', 'train_cfg.max_epochs=1',
        'train_cfg.val_interval=5', 'train_dataloader.batch_size=4',
        'test_dataloader.dataset.num_images=30',
        'test_dataloader.batch_size=8'
    ]
    work = tmp_path / 'work'
    run(['tools/train.py', config, '--work-dir', str(work), '--cfg-options',
         *short])
    ckpt = str(work / 'epoch_1.pth')
    state = torch.load(ckpt, weights_only=True, map_location='cpu')
    assert all(k.startswith('learner.') for k in state['state_dict'])
    assert osp.getsize(ckpt) < 200 * 1024  # kilobytes, no frozen CLIP
    results = []
    for procs in (1, 2):
        out = tmp_path / f'metrics{procs}.json'
        test = ['tools/test.py', config, ckpt, '--calibrators', 'dac',
                'tempscale', '--work-dir', str(tmp_path / f'test{procs}'),
                '--out', str(out), '--cfg-options', *short]
        if procs == 1:
            run(test)
        else:
            run(['-m', 'torch.distributed.run', '--nproc_per_node', '2',
                 '--master_port', str(29600 + len(learner)), *test,
                 '--launcher', 'pytorch'])
        results.append(json.loads(out.read_text()))
    single, double = results
    assert single.keys() == double.keys()
    assert 0 < single['recog/mAP_new'] <= 1
    for key, value in single.items():
        assert double[key] == pytest.approx(value, abs=1e-6), key
