"""Analysis figures (issue 13): the geometry measures against hand-computed
toy embeddings, and the figure tools on a tiny real toy-world grid (PNG and
CSV written, non-empty, consistent)."""
import csv
import math
import os.path as osp
from runpy import run_path

import pytest
import torch
from mmengine.config import Config

from mmccr.apis.grid import grid_from_config
from mmccr.apis.grid_runner import Options, prepare, run_grid, store_path
from mmccr.evaluation.geometry import (
    embedding_divergence,
    modality_gap,
    nearest_classes,
    neighbourhood_preservation,
    pca_2d,
)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def at(*degrees, scale=1.0):
    """Unit vectors (scaled) at the given angles in the plane, ``(N, 2)``."""
    rad = [math.radians(d) for d in degrees]
    return scale * torch.tensor([[math.cos(r), math.sin(r)] for r in rad])


def test_embedding_divergence_by_hand():
    zero_shot = at(0, 90, 30, scale=3.0)  # norms do not matter
    tuned = at(60, 90, 210)
    # 1 − cos 60° = 0.5; unchanged: 0; opposite: 2
    assert embedding_divergence(zero_shot, tuned).tolist() == pytest.approx(
        [0.5, 0.0, 2.0])
    with pytest.raises(ValueError, match='shapes differ'):
        embedding_divergence(zero_shot, tuned[:2])


def test_np_at_k_by_hand():
    # zero-shot angles 0, 10, 30, 70; tuned 0, 45, 30, 70
    zero_shot, tuned = at(0, 10, 30, 70), at(0, 45, 30, 70)
    assert nearest_classes(zero_shot, 1).flatten().tolist() == [1, 0, 1, 2]
    assert nearest_classes(tuned, 1).flatten().tolist() == [2, 2, 1, 1]
    assert neighbourhood_preservation(zero_shot, tuned, 1).tolist() == [
        0, 0, 1, 0]
    # K = 2: class 1 had {0, 2}, now {2, 3}: half kept; the others keep both
    assert neighbourhood_preservation(zero_shot, tuned, 2).tolist() == [
        1, 0.5, 1, 1]
    assert neighbourhood_preservation(zero_shot, zero_shot, 3).tolist() == [
        1, 1, 1, 1]
    with pytest.raises(ValueError, match='k must be in'):
        nearest_classes(zero_shot, 4)


def test_modality_gap_and_pca_by_hand():
    images = torch.tensor([[2.0, 0.0], [0.0, 5.0]])  # unit: (1,0), (0,1)
    texts = torch.tensor([[-1.0, 0.0], [0.0, -3.0]])
    # centroids (.5, .5) and (−.5, −.5): distance √2
    assert modality_gap(images, texts) == pytest.approx(math.sqrt(2))
    assert modality_gap(images, images) == 0
    direction = torch.tensor([1.0, 2.0, 2.0]) / 3
    t = torch.tensor([-1.0, 0.0, 1.0, 2.0])
    coords = pca_2d(t[:, None] * direction)  # points on a line
    assert coords[:, 0].tolist() == pytest.approx((t - 0.5).tolist())
    assert coords[:, 1].abs().max() < 1e-9


@pytest.fixture(scope='module')
def tiny_store(tmp_path_factory):
    """CoOp and CoOp + DAC (testing CoOp's checkpoint), 1 seed, 2 epochs
    (the first is the warm-up at lr 1e-5) at a high learning rate, so that
    the prompts move."""
    work = tmp_path_factory.mktemp('figures')
    spec = Config(dict(
        backbone='toyclip', datasets=['toyworld_base2new'],
        schedule='sgd_cos_toyworld', seeds=[1], work_dir=str(work),
        learners=[dict(name='CoOp', base='coop',
                       cfg_options={'learner.n_ctx': 4,
                                    'learner.ctx_init': 'a photo of a'})],
        calibrators=['none', 'dac'],
        cfg_options={'train_dataloader.dataset.num_shots': 2,
                     'train_dataloader.dataset.split_dir': str(work),
                     'train_cfg.max_epochs': 2, 'train_cfg.val_interval': 5,
                     'optim_wrapper.optimizer.lr': 0.05,
                     'test_dataloader.dataset.num_images': 120}))
    grid = grid_from_config(spec, 'figures')
    summary = run_grid(grid, prepare(grid), Options())
    assert len(summary.done) == 2
    return store_path(grid), work


def tool(name):
    return run_path(osp.join(REPO, 'tools', 'analysis_tools',
                             f'{name}.py'))['main']


def read_csv(path):
    with open(path, encoding='utf-8') as f:
        return list(csv.DictReader(f))


def written(paths):
    for path in paths:
        data = open(path, 'rb').read()
        assert len(data) > 100, path
        if path.endswith('.png'):
            assert data[:8] == PNG_MAGIC


def test_divergence_figure(tiny_store):
    store, work = tiny_store
    paths = tool('embedding_divergence')([store, '--k', '3'])
    written(paths)
    rows = read_csv(paths[1])
    assert len(rows) == 2 * 28  # two runs × the toy world's 28 classes
    by_run = {}
    for row in rows:
        by_run.setdefault(row['name'], []).append(row)
        assert 0 <= float(row['ED']) <= 2
        kept = 3 * float(row['NP@K'])  # of K = 3 neighbours
        assert kept == pytest.approx(round(kept)) and 0 <= kept <= 3
    # DAC tests CoOp's checkpoint: the same prompts, the same geometry
    none, dac = by_run['CoOp/none/seed1'], by_run['CoOp/dac/seed1']
    assert [r['ED'] for r in none] == [r['ED'] for r in dac]
    assert sum(r['group'] == 'base' for r in none) == 14
    assert any(float(r['ED']) > 0 for r in none)  # the prompts moved


def test_modality_gap_figure(tiny_store):
    store, _ = tiny_store
    paths = tool('modality_gap')([store, '--max-images', '40'])
    written(paths)
    summary = read_csv(paths[1])
    assert [r['panel'] for r in summary] == [
        'zero-shot prompts', 'CoOp/none/seed1', 'CoOp/dac/seed1']
    for row in summary:
        assert 0 < float(row['gap']) <= 2 and int(row['n_pairs']) > 0
    points = read_csv(paths[2])
    assert len(points) == 2 * sum(int(r['n_pairs']) for r in summary)


def test_calibration_gap_figure(tiny_store):
    store, _ = tiny_store
    paths = tool('calibration_gap')([store])
    written(paths)
    per_class = read_csv(paths[1])
    assert len(per_class) == 2 * 28
    groups = read_csv(paths[2])
    assert [(r['run'], r['group']) for r in groups][:4] == [
        ('CoOp/none/seed1', g) for g in ('head', 'medium', 'tail', 'new')]
    assert all(0 <= float(r['ECE']) <= 100 for r in groups)


def test_figures_need_per_class_gaps(tiny_store, tmp_path):
    """A run without per-class Gap (e.g. the paper preset) is refused with
    the reason, not plotted empty."""
    import json
    store, _ = tiny_store
    record = json.loads(open(store).readline())
    results = json.load(open(record['results_file']))
    del results['per_class']['calib/Gap']
    (tmp_path / 'r.json').write_text(json.dumps(results))
    (tmp_path / 'results.jsonl').write_text(json.dumps(
        dict(record, results_file=str(tmp_path / 'r.json'))) + '\n')
    for name in ('calibration_gap', 'embedding_divergence'):
        with pytest.raises(SystemExit, match='no per-class calib/Gap'):
            tool(name)([str(tmp_path / 'results.jsonl')])
