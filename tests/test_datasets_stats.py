"""Tests of ``tools/misc/dataset_stats.py`` on the list-file and VOC2007
config bases, with fixtures written here; expected counts by hand."""
import glob
import importlib.util
import json
import os.path as osp

import pytest
from mmengine.config import Config
from test_datasets_common import CLASSES, POOL, write_pool
from test_datasets_voc import write_voc

from mmccr.utils.config import load_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    'dataset_stats', osp.join(REPO, 'tools', 'misc', 'dataset_stats.py'))
dataset_stats = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dataset_stats)


@pytest.fixture
def list_data(tmp_path, monkeypatch):
    root = tmp_path / 'data' / 'mydata'
    write_pool(root)
    write_pool(root, {'t0.jpg': [0, 1], 't1.jpg': [4], 't2.jpg': [1]},
               name='test.txt')
    monkeypatch.setenv('MMCCR_DATA', str(tmp_path / 'data'))
    return osp.join(REPO, 'configs', '_base_', 'datasets',
                    'list_file_base2new.py')


def test_stats_of_the_list_file_config(list_data, tmp_path, capsys):
    png, out = tmp_path / 'freq.png', tmp_path / 'stats.json'
    dataset_stats.main([list_data, '--shots', '1', '--seed', '2', '--png',
                        str(png), '--json', str(out)])
    stats = json.loads(out.read_text())
    # POOL: 8 images; test.txt: 3 (val and test are the same loader).
    assert stats['images']['train_pool'] == len(POOL) == 8
    assert stats['images']['val'] == stats['images']['test'] == 3
    rows = {r['name']: r for r in stats['classes']}
    assert list(rows) == CLASSES
    # Train-pool positives per class, from POOL by hand: ant i0 i4, bee i1
    # i7, cow i1 i5, dog i2 i7, eel i3 i4.
    assert [rows[c]['train_pool'] for c in CLASSES] == [2, 2, 2, 2, 2]
    assert [rows[c]['test'] for c in CLASSES] == [1, 2, 0, 0, 1]
    assert [rows[c]['split'] for c in CLASSES] == ['base'] * 3 + ['new'] * 2
    # Every class has 2 < 20 training images: all tail.
    assert {r['group'] for r in rows.values()} == {'tail'}
    # New classes have no shots; base classes at least 1 each.
    assert rows['dog']['shots'] is None and rows['eel']['shots'] is None
    assert all(rows[c]['shots'] >= 1 for c in CLASSES[:3])
    assert stats['images']['1shot_seed2'] <= 3
    assert png.stat().st_size > 0 and png.read_bytes()[:4] == b'\x89PNG'
    text = capsys.readouterr().out
    assert 'Images per split' in text and '1shot_seed2' in text
    assert 'base 3, new 2; tail: 5' in text


def test_stats_of_the_voc_config(tmp_path, monkeypatch, capsys):
    root = tmp_path / 'data' / 'VOCdevkit' / 'VOC2007'
    write_voc(root)
    write_voc(root, split='test')
    (root / 'JPEGImages').mkdir()
    for i in ('000001', '000002', '000003', '000004'):
        (root / 'JPEGImages' / f'{i}.jpg').write_bytes(b'')
    monkeypatch.setenv('MMCCR_DATA', str(tmp_path / 'data'))
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'coop_ccr_voc07_16shot.py'))
    stats = dataset_stats.collect(cfg, shots=1, seed=1)
    rows = {r['name']: r for r in stats['classes']}
    assert stats['images']['train_pool'] == 4
    # Test mode ignores the difficult-only bird: not counted as positive.
    assert rows['bird']['test'] == 0 and rows['person']['test'] == 1
    # Training pool (difficult-only negative): aeroplane, boat, car, person.
    assert sorted(n for n, r in rows.items() if r['train_pool']) == \
        ['aeroplane', 'boat', 'car', 'person']
    assert rows['person']['shots'] is None  # person is a new class
    assert rows['car']['shots'] == 1


def test_stats_of_the_voclt_config_use_dbl_groups(tmp_path, monkeypatch):
    from test_datasets_longtail import VOC12, write_dbl, write_xml
    root = tmp_path / 'data' / 'VOCdevkit'
    write_xml(root / 'VOC2012' / 'Annotations', VOC12)
    write_xml(root / 'VOC2007' / 'Annotations', {'t1': [('sofa', 0)]})
    main = root / 'VOC2007' / 'ImageSets' / 'Main'
    main.mkdir(parents=True)
    (main / 'test.txt').write_text('t1\n')
    write_dbl(root / 'longtail2012', ['2009_c', '2008_a'], [0] * 20, 20,
              'img_id.txt')
    monkeypatch.setenv('MMCCR_DATA', str(tmp_path / 'data'))
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'coop_bce_voclt_16shot.py'))
    for loader in ('train', 'val', 'test'):
        cfg[f'{loader}_dataloader'].dataset.missing_images = 'keep'
    stats = dataset_stats.collect(cfg, shots=16, seed=1)
    # The fixture's DBL split: aeroplane head, bicycle medium, rest tail.
    groups = [r['group'] for r in stats['classes']]
    assert groups == ['head', 'medium'] + ['tail'] * 18
    # 2009_c has person (new) and a difficult-only bird (negative in
    # training): no base positive, so only 2008_a (cat) is sampled.
    assert stats['images'] == {'train_pool': 2, '16shot_seed1': 1,
                               'val': 1, 'test': 1}


@pytest.mark.parametrize('path', sorted(
    glob.glob(osp.join(REPO, 'configs', 'coop_*_16shot.py')) +
    glob.glob(osp.join(REPO, 'configs', 'dg', 'coop_*_16shot.py'))))
def test_protocol_leaves_read_their_shots_from_the_dataset_base(path):
    """Every 16-shot leaf (COCO, the five new datasets, DG) gets K = 16 and
    seed 1 from the dataset bases, trains on base classes, tests on all."""
    cfg = load_config(path)
    train = cfg.train_dataloader.dataset
    assert (train.num_shots, train.seed, train.class_split) == (16, 1, 'base')
    test = cfg.test_dataloader.dataset
    assert test.test_mode and test.get('class_split', 'all') == 'all'
    types = [c['type'] for c in cfg.model.calibrators]
    if '_bce_' in osp.basename(path):
        assert types == []
    if '_ccr_' in osp.basename(path):
        assert types == ['CCR']
