"""Tests of ``tools/misc/dataset_stats.py`` on the list-file and VOC2007
config bases, with fixtures written here; expected counts by hand."""
import importlib.util
import json
import os.path as osp

import pytest
from mmengine.config import Config
from test_datasets_common import CLASSES, POOL, write_pool
from test_datasets_voc import write_voc

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
