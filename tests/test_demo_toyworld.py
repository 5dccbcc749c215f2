"""The demo main job (``scripts/demo.sh``) in a shortened form.

The configs, row names and options are read from the script itself, so the
test follows the demo. The shortening: 4 shots, 2 epochs, 300 test images.
"""
import json
import os.path as osp
import re
import shlex

import pytest
from mmengine import Config
from test_calibrator_tools import REPO, tool

from mmccr.utils.config import load_config


def demo_arguments() -> list:
    """The arguments ``scripts/demo.sh`` passes to compare_calibrators.py."""
    with open(osp.join(REPO, 'scripts', 'demo.sh'), encoding='utf-8') as f:
        text = f.read().replace('\\\n', ' ')
    line = re.search(r'compare_calibrators\.py (.*)"\$@"', text).group(1)
    return shlex.split(line)


def split_arguments(args: list) -> tuple:
    """Configs, names and the remaining options of the demo command."""
    configs = [a for a in args if a.endswith('.py')]
    names = args[args.index('--names') + 1:args.index('--names') + 1 +
                 len(configs)]
    rest = args[len(configs):]
    drop = rest.index('--names')
    rest = rest[:drop] + rest[drop + 1 + len(configs):]
    drop = rest.index('--work-dir')
    return configs, names, rest[:drop] + rest[drop + 2:]


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory):
    """Run the shortened demo once; return its work dir, names and text."""
    work = tmp_path_factory.mktemp('demo')
    configs, names, options = split_arguments(demo_arguments())
    short = ['test_dataloader.dataset.num_images=300']
    trains = [bool(Config.fromfile(osp.join(REPO, c)).get('train_cfg'))
              for c in configs]
    for training in (False, True):
        chosen = [i for i, t in enumerate(trains) if t == training]
        loader = 'train' if training else 'reference'
        extra = short + [f'{loader}_dataloader.dataset.split_dir={work}'] + ([
            'train_dataloader.dataset.num_shots=4', 'train_cfg.max_epochs=2',
            'train_cfg.val_interval=2',
            'val_dataloader.dataset.num_images=100'
        ] if training else [])
        tool('tools/analysis_tools/compare_calibrators.py',
             *[configs[i] for i in chosen], '--names',
             *[names[i] for i in chosen], *options, '--work-dir',
             work / ('trained' if training else 'zero_shot'),
             '--cfg-options', *extra)
    return work, configs, names


def stored(work) -> dict:
    """The run records of a compare_calibrators work dir, by run id."""
    lines = (work / 'results.jsonl').read_text().splitlines()
    return {r['run']: r for r in map(json.loads, lines)}


def test_demo_runs_the_four_methods_of_the_issue():
    configs, names, options = split_arguments(demo_arguments())
    assert [osp.basename(c) for c in configs] == [
        'zeroshot_toyworld.py', 'coop_bce_toyworld.py',
        'coop_ccr_toyworld.py', 'coop_ranking_toyworld.py'
    ]
    assert len(names) == 4 and '--plots' in options
    losses = [load_config(osp.join(REPO, c)).model.get('loss', {}).get(
        'type') for c in configs[1:]]
    assert losses == ['BCELoss', 'BCELoss', 'RankingLoss']
    calibrators = [[
        c['type'] for c in load_config(osp.join(REPO, cfg)).model.get(
            'calibrators', [])
    ] for cfg in configs[1:]]
    assert calibrators == [[], ['CCR'], []]


def test_demo_writes_tables_results_and_diagrams(demo_run):
    work, configs, names = demo_run
    for group, chosen in (('zero_shot', configs[:1]),
                          ('trained', configs[1:])):
        text = (work / group / 'comparison.md').read_text().splitlines()
        table = [line for line in text if line.startswith('|')]
        assert len(table) == 2 + len(chosen)
        header = [c.strip() for c in table[0].strip('|').split('|')]
        assert header[:4] == ['Method', 'mAP base', 'mAP new', 'mAP HM']
        assert 'Gap base' in header and 'Gap HM' not in header
        assert 'acc[Hamming] base' in header  # the accuracy form is named
        # the conventions are listed under the table
        notes = [line for line in text if line.startswith('- ')]
        assert any('mode binary' in n and 'sigmoid' in n for n in notes)
        assert any(n.startswith('- HM = harmonic mean') for n in notes)
        records = stored(work / group)
        assert len(records) == len(chosen)
        for index in [configs.index(c) for c in chosen]:
            run = work / group / 'runs' / names[index] / 'seed1'
            metrics = records[f'{names[index]}/seed1']['metrics']
            # 28 classes: base and new halves of the toy world.
            assert 0 < metrics['recog/mAP_base'] <= 1
            assert 0 < metrics['recog/mAP_new'] <= 1
            assert list(run.glob('**/*.png')), f'no reliability diagram in '\
                f'{run}'


def test_zero_shot_demo_is_far_above_chance(demo_run):
    """ToyCLIP's zero-shot mAP on 300 test images: chance is ~0.07."""
    work, _, names = demo_run
    metrics = stored(work / 'zero_shot')[f'{names[0]}/seed1']['metrics']
    assert metrics['recog/mAP_all'] > 0.45
