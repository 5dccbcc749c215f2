"""Tests of the machinery every mmccr dataset shares: configurable base
classes, where few-shot split files go, missing images, removal of images
another dataset holds (domain generalization), the restricted unpickler,
and the list-file dataset built end to end from its config base.

All fixtures are written under ``tmp_path``; expectations are worked out by
hand in the comments.
"""
import json
import os
import os.path as osp
import pickle

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope
from PIL import Image

from mmccr.datasets import MultiLabelListDataset, base_new_split
from mmccr.datasets.files import load_pickle
from mmccr.registry import DATASETS
from mmccr.utils.config import load_config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CLASSES = ['ant', 'bee', 'cow', 'dog', 'eel']
# image -> positive class indices; written as a list file.
POOL = {
    'i0.jpg': [0], 'i1.jpg': [1, 2], 'i2.jpg': [3], 'i3.jpg': [4],
    'i4.jpg': [0, 4], 'i5.jpg': [2], 'i6.jpg': [], 'i7.jpg': [1, 3],
}


def write_pool(root, pool=POOL, name='train.txt', images=True):
    root.mkdir(parents=True, exist_ok=True)
    (root / 'classes.txt').write_text('\n'.join(CLASSES) + '\n')
    (root / name).write_text(''.join(
        ' '.join([img] + [str(c) for c in pos]) + '\n'
        for img, pos in pool.items()))
    if images:
        for img in pool:
            Image.new('RGB', (4, 4)).save(root / img)
    return root


def make(root, **kwargs):
    kwargs.setdefault('serialize_data', False)
    return MultiLabelListDataset(classes='classes.txt', data_root=str(root),
                                 ann_file='train.txt', **kwargs)


def ids(dataset):
    return [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))]


# --------------------------------------------------------------------- #
# base classes                                                          #
# --------------------------------------------------------------------- #


def test_default_base_classes_are_the_first_half(tmp_path):
    ds = make(write_pool(tmp_path / 'd'), class_split='base')
    # ceil(5 / 2) = 3: ant, bee, cow.
    assert ds.metainfo['classes'] == ['ant', 'bee', 'cow']
    assert ds.metainfo['base_prompt_names'] == ['ant', 'bee', 'cow']


@pytest.mark.parametrize('as_file', [False, True])
def test_base_classes_by_name_or_file(tmp_path, as_file):
    root = write_pool(tmp_path / 'd')
    names = ['eel', 'bee']  # given out of canonical order
    if as_file:
        (root / 'base.txt').write_text('eel\n\nbee\n')
        names = 'base.txt'
    base = make(root, class_split='base', base_classes=names)
    new = make(root, class_split='new', base_classes=names)
    # Selected classes stay in canonical order.
    assert base.metainfo['classes'] == ['bee', 'eel']
    assert new.metainfo['classes'] == ['ant', 'cow', 'dog']
    assert new.metainfo['base_prompt_names'] == ['bee', 'eel']
    every = make(root, base_classes=names)
    assert every.metainfo['groups']['base'] == [1, 4]
    assert every.metainfo['groups']['new'] == [0, 2, 3]
    # i1 has bee and cow: bee positive, cow (new) not predicted.
    labels = {i['img_id']: i['gt_label'].tolist()
              for i in (base.get_data_info(k) for k in range(len(base)))}
    assert labels['i1.jpg'] == [1, 0]
    assert labels['i4.jpg'] == [0, 1]


def test_base_classes_errors_name_the_problem(tmp_path):
    root = write_pool(tmp_path / 'd')
    with pytest.raises(ValueError, match=r"base_classes.*'wasp'"):
        make(root, class_split='base', base_classes=['ant', 'wasp'])
    (root / 'bad.txt').write_text('ant\nyak\n')
    with pytest.raises(ValueError, match=r"bad\.txt.*'yak'"):
        make(root, class_split='base', base_classes='bad.txt')
    with pytest.raises(FileNotFoundError, match='nofile.txt'):
        make(root, class_split='base', base_classes='nofile.txt')
    (root / 'dup.txt').write_text('ant\nant\n')
    with pytest.raises(ValueError, match=r'dup\.txt:2'):
        make(root, class_split='base', base_classes='dup.txt')
    with pytest.raises(ValueError, match='empty'):
        make(root, class_split='base', base_classes=[])


def test_base_new_split_with_given_indices():
    assert base_new_split(5) == {'base': [0, 1, 2], 'new': [3, 4]}
    assert base_new_split(5, [4, 1]) == {'base': [1, 4], 'new': [0, 2, 3]}
    with pytest.raises(ValueError, match='0..4'):
        base_new_split(5, [5])


def test_custom_base_classes_get_their_own_split_file(tmp_path):
    root = write_pool(tmp_path / 'd')
    split_dir = tmp_path / 'splits'
    make(root, class_split='base', num_shots=1, split_dir=str(split_dir))
    make(root, class_split='base', num_shots=1, split_dir=str(split_dir),
         base_classes=['dog', 'eel'])
    files = sorted(os.listdir(split_dir))
    assert len(files) == 2
    custom = [f for f in files if '-base' in f.split('mask')[1]]
    saved = json.loads((split_dir / custom[0]).read_text())
    assert saved['base_classes'] == ['dog', 'eel']


# --------------------------------------------------------------------- #
# split files                                                           #
# --------------------------------------------------------------------- #


def test_split_files_go_to_the_cache_not_the_data_folder(tmp_path,
                                                         monkeypatch):
    cache = tmp_path / 'cache'
    monkeypatch.setenv('MMCCR_CACHE_DIR', str(cache))
    root = write_pool(tmp_path / 'd')
    before = sorted(os.listdir(root))
    make(root, class_split='base', num_shots=1)
    assert sorted(os.listdir(root)) == before  # nothing written there
    folder = cache / 'splits' / str(root).strip(os.sep).replace(os.sep, '_')
    (name, ) = os.listdir(folder)
    assert name.endswith('_1shot_seed1.json')


def test_unwritable_cache_falls_back_to_temp(tmp_path, monkeypatch):
    if os.getuid() == 0:
        # root writes anywhere; point the cache at a path under a file.
        blocker = tmp_path / 'file'
        blocker.write_text('')
        monkeypatch.setenv('MMCCR_CACHE_DIR', str(blocker / 'cache'))
    else:
        locked = tmp_path / 'locked'
        locked.mkdir(mode=0o500)
        monkeypatch.setenv('MMCCR_CACHE_DIR', str(locked))
    monkeypatch.setenv('TMPDIR', str(tmp_path / 'tmp'))
    (tmp_path / 'tmp').mkdir()
    import tempfile
    monkeypatch.setattr(tempfile, 'tempdir', None)
    root = write_pool(tmp_path / 'd')
    make(root, class_split='base', num_shots=1)
    written = [f for _, _, fs in os.walk(tmp_path / 'tmp') for f in fs]
    assert len(written) == 1 and written[0].endswith('_seed1.json')


# --------------------------------------------------------------------- #
# missing images, excluded images                                       #
# --------------------------------------------------------------------- #


def test_missing_images_dropped_counted_or_fatal(tmp_path):
    root = write_pool(tmp_path / 'd')
    os.remove(root / 'i2.jpg')
    os.remove(root / 'i5.jpg')
    assert sorted(ids(make(root))) == sorted(set(POOL) - {'i2.jpg',
                                                          'i5.jpg'})
    with pytest.raises(FileNotFoundError, match=r'2 of 8 .*i2\.jpg'):
        make(root, missing_images='error')
    assert len(make(root, missing_images='keep')) == 8
    with pytest.raises(ValueError, match='missing_images'):
        make(root, missing_images='skip')


def test_exclude_images_of_another_dataset(tmp_path):
    root = write_pool(tmp_path / 'd')
    train = dict(type='MultiLabelListDataset', classes='classes.txt',
                 data_root=str(root), ann_file='train.txt',
                 class_split='base', num_shots=1, seed=3,
                 split_dir=str(tmp_path / 'splits'))
    with DefaultScope.overwrite_default_scope('mmccr'):
        sample = set(ids(DATASETS.build(train)))
        test = make(root, exclude_images_of=train)
    assert 0 < len(sample) < len(POOL)
    assert set(ids(test)) == set(POOL) - sample
    assert test.metainfo['excluded_images'] == len(sample)


# --------------------------------------------------------------------- #
# restricted unpickler                                                  #
# --------------------------------------------------------------------- #


class _Payload:
    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_restricted_unpickler_reads_containers_and_arrays(tmp_path):
    data = {'head': {1, 2}, 'freq': np.arange(3, dtype=np.int64),
            'nested': [('a', 1.5)], 'scalar': np.float64(2.0)}
    path = tmp_path / 'ok.pkl'
    path.write_bytes(pickle.dumps(data, protocol=2))
    loaded = load_pickle(str(path), 'split pickle')
    assert loaded['head'] == {1, 2} and loaded['nested'] == [('a', 1.5)]
    assert loaded['freq'].tolist() == [0, 1, 2]
    assert loaded['scalar'] == 2.0


def test_restricted_unpickler_refuses_code(tmp_path):
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps(_Payload()))
    with pytest.raises(pickle.UnpicklingError, match=r'evil\.pkl.*system'):
        load_pickle(str(path), 'split pickle')
    path.write_bytes(b'not a pickle')
    with pytest.raises(ValueError, match=r'evil\.pkl'):
        load_pickle(str(path), 'split pickle')


# --------------------------------------------------------------------- #
# the list-file config base, end to end                                 #
# --------------------------------------------------------------------- #


def test_list_file_config_base_end_to_end(tmp_path, monkeypatch):
    data = tmp_path / 'data'
    write_pool(data / 'mydata')
    test_pool = {'t0.jpg': [0, 1], 't1.jpg': [4]}
    write_pool(data / 'mydata', test_pool, name='test.txt')
    monkeypatch.setenv('MMCCR_DATA', str(data))
    cache = tmp_path / 'cache'
    monkeypatch.setenv('MMCCR_CACHE_DIR', str(cache))
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'datasets',
                                   'list_file_base2new.py'))
    cfg.train_dataloader.dataset.num_shots = 1
    with DefaultScope.overwrite_default_scope('mmccr'):
        train = DATASETS.build(cfg.train_dataloader.dataset)
        test = DATASETS.build(cfg.test_dataloader.dataset)
    # Base = ant, bee, cow; each needs >= 1 shot: the sample covers all
    # three (i0/i4 give ant, i1/i7 bee, i1/i5 cow).
    shots = train.metainfo['shot_counts']
    assert train.metainfo['classes'] == ['ant', 'bee', 'cow']
    assert min(shots) >= 1 and len(train) <= 3
    item = train[0]
    assert tuple(item['inputs'].shape) == (3, 224, 224)
    # The split file is in the cache, the data folder untouched.
    written = [f for _, _, fs in os.walk(cache) for f in fs]
    assert any(f.endswith('_1shot_seed1.json') for f in written)
    assert sorted(os.listdir(data / 'mydata')) == sorted(
        ['classes.txt', 'train.txt', 'test.txt', *POOL, *test_pool])
    # Test set: all classes, counts from train.txt (ant 2, bee 2, cow 2,
    # dog 2, eel 2 positives).
    assert test.metainfo['classes'] == CLASSES
    assert test.metainfo['class_counts'] == [2, 2, 2, 2, 2]
    assert len(test) == 2


# --------------------------------------------------------------------- #
# domain generalization configs: overlap removal                        #
# --------------------------------------------------------------------- #


def write_coco(path, anns):
    """instances file with categories 1..4 = a, b, c, d; anns: id -> cats."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(
        images=[dict(id=i, file_name=f'{i}.jpg') for i in anns],
        annotations=[dict(id=100 * i + c, image_id=i, category_id=c)
                     for i, cs in anns.items() for c in cs],
        categories=[dict(id=k, name=n) for k, n in enumerate('abcd', 1)])))
    for i in anns:
        img = path.parent.parent / path.stem.split('_')[1] / f'{i}.jpg'
        img.parent.mkdir(parents=True, exist_ok=True)
        img.write_bytes(b'')


@pytest.mark.parametrize('method', ['bce', 'ccr'])
def test_dg_config_drops_training_images_from_the_test_set(
        tmp_path, monkeypatch, method):
    coco = tmp_path / 'data' / 'coco'
    # Base classes a, b. Only image 2 shows b and only image 5 shows a, so
    # every 1-shot sample is exactly {2, 5}, whatever the seed.
    write_coco(coco / 'annotations' / 'instances_train2014.json',
               {1: [3], 2: [2, 4], 3: [], 5: [1, 3], 6: [4]})
    write_coco(coco / 'annotations' / 'instances_val2017.json',
               {4: [1], 5: [1, 3], 6: [4], 7: [2]})
    monkeypatch.setenv('MMCCR_DATA', str(tmp_path / 'data'))
    # The training sample is named, so a command-line change reaches it.
    cfg = load_config(osp.join(
        REPO, 'configs', 'dg', f'coop_{method}_coco14_to_coco17_16shot.py'),
        {'train_dataloader.dataset.num_shots': 1})
    dataset = cfg.test_dataloader.dataset
    assert dataset.exclude_images_of.num_shots == 1
    with DefaultScope.overwrite_default_scope('mmccr'):
        test = DATASETS.build(dict(dataset, serialize_data=False))
    assert sorted(ids(test)) == [4, 6, 7]  # 5 was a training image
    assert test.metainfo['excluded_images'] == 1
    assert test.metainfo['classes'] == ['a', 'b', 'c', 'd']
