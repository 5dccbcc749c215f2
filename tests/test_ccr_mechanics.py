"""The CCR mechanics and λ sweep tools (issue 17) on a tiny toy-world run."""
import csv
import json
import os.path as osp
import sys
from types import SimpleNamespace

import pytest
from test_calibrator_tools import REPO, tool

sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
import lambda_sweep  # noqa: E402

from mmccr.apis.grid import compose  # noqa: E402

TINY = ['train_dataloader.dataset.num_shots=4', 'train_cfg.max_epochs=1',
        'val_dataloader.dataset.num_images=60']


def test_mechanics_table_and_its_invariants(tmp_path):
    out = tmp_path / 'mech'
    tool('tools/analysis_tools/ccr_mechanics.py', '--batches', 1, '--eps',
         1e-6, '--lambdas', 0.5, 2, '--out-dir', out, '--cfg-options',
         'train_dataloader.dataset.num_shots=4',
         f'train_dataloader.dataset.split_dir={tmp_path}')
    with open(out / 'mechanics.csv', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    # 2 pairs x 2 precisions x 1 eps x 2 normalisations
    assert len(rows) == 8
    key = {(r['pairs'], r['σ'], r['normalise']): r for r in rows}
    # With every sample in S_ij the two normalisations coincide.
    for prec in ('f32', 'f64'):
        assert key[('all', prec, 'pairwise')]['L_ccr'] == \
            key[('all', prec, 'diagonal')]['L_ccr']
        assert float(key[('all', prec, 'pairwise')]['empty S_ij']) == 0
    # The λ columns scale linearly with λ (ratio 2 / 0.5 = 4).
    for row in rows:
        assert float(row['λ=2']) == pytest.approx(4 * float(row['λ=0.5']),
                                                  rel=0.02)
        assert 0 <= float(row['var_ij<ε']) <= 1
    assert 'mean ‖∇L_bce‖' in (out / 'mechanics.md').read_text()


def test_sweep_runs_are_evaluated_on_val_not_test(tmp_path):
    args = SimpleNamespace(config=lambda_sweep.DEFAULT_CONFIG,
                           work_dir=str(tmp_path), cfg_options=None,
                           methods=['CCR'], lambdas=[0.1], seeds=[3])
    runs = {r.cell.labels['options']: r
            for r in lambda_sweep.sweep_grid(args).runs()}
    assert sorted(runs) == ['BCE/lambda0', 'CCR/lambda0.1']
    cfg = compose(runs['CCR/lambda0.1'])
    assert cfg.test_dataloader.dataset.split == 'val'
    assert cfg.test_dataloader == cfg.val_dataloader
    assert cfg.model.calibrators == [dict(type='CCR', loss_weight=0.1)]
    assert cfg.train_dataloader.dataset.seed == 3
    assert cfg.train_cfg.val_begin > cfg.train_cfg.max_epochs
    assert [m['items'] for m in cfg.test_evaluator] == [
        ('mAP', 'acc', 'positive_acc'), ('ECE', 'Gap')]
    assert compose(runs['BCE/lambda0']).model.calibrators == []


def test_choose_takes_the_lowest_val_ece_per_method():
    rows = [dict(method='BCE', lam=0.0, ECE_mean=0.1),
            dict(method='CCR', lam=0.1, ECE_mean=0.3),
            dict(method='CCR', lam=1.0, ECE_mean=0.2),
            dict(method='DOR', lam=1.0, ECE_mean=0.5)]
    assert lambda_sweep.choose(rows) == {'CCR': 1.0, 'DOR': 1.0}


def test_tiny_sweep_writes_csv_png_and_choice(tmp_path):
    work = tmp_path / 'sweep'
    tool('tools/analysis_tools/lambda_sweep.py', '--methods', 'CCR',
         '--lambdas', 0.5, '--work-dir', work, '--cfg-options', *TINY,
         f'train_dataloader.dataset.split_dir={tmp_path}')
    with open(work / 'sweep.csv', encoding='utf-8') as f:
        rows = list(csv.DictReader(f))
    assert [(r['method'], float(r['lam'])) for r in rows] == [
        ('BCE', 0.0), ('CCR', 0.5)]
    for row in rows:
        assert 0 < float(row['ECE_mean']) < 1
    assert json.loads((work / 'chosen.json').read_text())['chosen'] == {
        'CCR': 0.5}
    assert (work / 'sweep.png').stat().st_size > 1000
