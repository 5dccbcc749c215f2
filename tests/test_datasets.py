"""Tests of ``mmccr.datasets``: COCO and list-file loading, class splits,
few-shot sampling and split files, head/medium/tail groups, the synthetic
dataset and the transforms.

Every fixture (annotation files, list files, images) is written under
``tmp_path``; expected values are worked out by hand or by an independent
re-implementation written here.
"""
import io
import json
import os
import random

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope
from PIL import Image

from mmccr.datasets import (
    COCO_CLASSES,
    CocoMultiLabel,
    MultiLabelListDataset,
    SyntheticShapes,
    base_new_split,
    frequency_groups,
    read_class_names,
    sample_few_shot,
)
from mmccr.datasets.transforms import LoadImage, PackInputs, RandomFlip, Resize

# --------------------------------------------------------------------- #
# fixture writers                                                       #
# --------------------------------------------------------------------- #


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def write_image(path, array, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path, format=fmt)
    return path


# COCO fixture: category ids 7, 1, 3 are listed out of order; sorted by id
# they are cat (1), apple (3), bus (7), which is neither the file order nor
# the alphabetical order.
COCO_CATEGORIES = [
    dict(id=7, name='bus', supercategory='vehicle'),
    dict(id=1, name='cat', supercategory='animal'),
    dict(id=3, name='apple', supercategory='food'),
]
COCO_CLASS_ORDER = ['cat', 'apple', 'bus']
COCO_IMAGES = {  # image id -> file name
    12: 'c.jpg', 10: 'a.jpg', 14: 'e.jpg', 11: 'b.jpg', 13: 'd.jpg'
}
# (image_id, category_id, iscrowd)
COCO_ANNS = [
    (10, 1, 0), (10, 7, 0), (10, 1, 0),  # two cats and a bus
    (11, 3, 0),
    # image 12 has no annotation
    (13, 3, 0), (13, 7, 1),  # apple, crowd of buses
    (14, 7, 0),
]
# Hand-worked labels over [cat, apple, bus].
COCO_LABELS = {
    10: [1, 0, 1],
    11: [0, 1, 0],
    12: [0, 0, 0],
    13: [0, 1, 1],
    14: [0, 0, 1],
}
COCO_LABELS_NO_CROWD = {**COCO_LABELS, 13: [0, 1, 0]}


def coco_dict(images=COCO_IMAGES, anns=COCO_ANNS,
              categories=COCO_CATEGORIES):
    return dict(
        images=[
            dict(id=i, file_name=f, height=8, width=8)
            for i, f in images.items()
        ],
        annotations=[
            dict(id=n, image_id=img, category_id=cat, iscrowd=crowd,
                 bbox=[0, 0, 4, 4], area=16)
            for n, (img, cat, crowd) in enumerate(anns, 1)
        ],
        categories=categories)


@pytest.fixture
def coco_root(tmp_path):
    root = tmp_path / 'coco'
    write_json(root / 'annotations' / 'instances_train.json', coco_dict())
    rng = np.random.default_rng(0)
    for name in COCO_IMAGES.values():
        write_image(root / 'images' / name,
                    rng.integers(0, 256, (8, 8, 3)))
    return root


def make_coco(root, tmp_path, ann='instances_train.json', **kwargs):
    # mmengine's serialisation ends with a gc.collect() that costs about a
    # second per dataset; the helpers skip it (the registry test keeps it).
    kwargs.setdefault('serialize_data', False)
    return CocoMultiLabel(
        ann_file=str(root / 'annotations' / ann),
        data_root=str(root),
        data_prefix=dict(img_path='images'),
        split_dir=str(tmp_path / 'splits'),
        **kwargs)


def labels_by_id(dataset):
    out = {}
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        assert info['gt_label'].dtype == np.int8
        out[info['img_id']] = info['gt_label'].tolist()
    return out


def columns(table, cols):
    return {k: [v[c] for c in cols] for k, v in table.items()}


# --------------------------------------------------------------------- #
# COCO                                                                  #
# --------------------------------------------------------------------- #


def test_coco_category_ids_map_in_ascending_id_order(coco_root, tmp_path):
    ds = make_coco(coco_root, tmp_path)
    assert ds.metainfo['classes'] == COCO_CLASS_ORDER
    # Decision 8: the prompt names default to the canonical names.
    assert ds.metainfo['prompt_names'] == COCO_CLASS_ORDER


def test_coco_image_labels_and_paths(coco_root, tmp_path):
    ds = make_coco(coco_root, tmp_path)
    # Decision 7: the image without annotations is kept, all negative.
    assert labels_by_id(ds) == COCO_LABELS
    paths = {
        ds.get_data_info(i)['img_id']: ds.get_data_info(i)['img_path']
        for i in range(len(ds))
    }
    assert paths == {
        i: str(coco_root / 'images' / f) for i, f in COCO_IMAGES.items()
    }


def test_coco_drop_empty(coco_root, tmp_path):
    ds = make_coco(coco_root, tmp_path, drop_empty=True)
    expected = {k: v for k, v in COCO_LABELS.items() if k != 12}
    assert labels_by_id(ds) == expected


def test_coco_skip_crowd(coco_root, tmp_path):
    default = make_coco(coco_root, tmp_path)
    skipped = make_coco(coco_root, tmp_path, skip_crowd=True)
    assert labels_by_id(default)[13] == [0, 1, 1]
    assert labels_by_id(skipped) == COCO_LABELS_NO_CROWD


def test_coco_class_split_base_mask(coco_root, tmp_path):
    # ceil(3 / 2) = 2 base classes: cat, apple; bus is new.
    ds = make_coco(coco_root, tmp_path, class_split='base')
    meta = ds.metainfo
    assert meta['classes'] == ['cat', 'apple']
    assert meta['prompt_names'] == ['cat', 'apple']
    assert meta['class_split'] == 'base'
    assert meta['groups']['base'] == [0, 1]
    assert meta['groups']['new'] == []
    # 'mask' (the default) keeps the images with a bus, without the column.
    assert labels_by_id(ds) == columns(COCO_LABELS, [0, 1])


def test_coco_class_split_new_mask(coco_root, tmp_path):
    ds = make_coco(coco_root, tmp_path, class_split='new')
    meta = ds.metainfo
    assert meta['classes'] == ['bus']
    assert meta['groups']['base'] == []
    assert meta['groups']['new'] == [0]
    assert labels_by_id(ds) == columns(COCO_LABELS, [2])


def test_coco_class_split_all_groups(coco_root, tmp_path):
    ds = make_coco(coco_root, tmp_path)
    meta = ds.metainfo
    assert meta['groups']['base'] == [0, 1]
    assert meta['groups']['new'] == [2]
    # Not test mode: the counts are this pool's positives per class.
    assert meta['class_counts'] == [1, 2, 3]
    assert meta['groups']['tail'] == [0, 1, 2]
    assert meta['groups']['head'] == meta['groups']['medium'] == []


def test_coco_new_class_images_exclude(coco_root, tmp_path):
    base = make_coco(coco_root, tmp_path, class_split='base',
                     new_class_images='exclude')
    # Images 10, 13 and 14 contain a bus (new class) and are dropped.
    assert labels_by_id(base) == {11: [0, 1], 12: [0, 0]}
    new = make_coco(coco_root, tmp_path, class_split='new',
                    new_class_images='exclude')
    # Images 10, 11 and 13 contain a base class.
    assert labels_by_id(new) == {12: [0], 14: [1]}


def test_coco_exclude_uses_labels_after_skip_crowd(coco_root, tmp_path):
    # Without the crowd of buses, image 13 has no new class and stays.
    ds = make_coco(coco_root, tmp_path, class_split='base',
                   new_class_images='exclude', skip_crowd=True)
    assert labels_by_id(ds) == {11: [0, 1], 12: [0, 0], 13: [0, 1]}


def test_invalid_split_options(coco_root, tmp_path):
    with pytest.raises(ValueError, match='class_split'):
        make_coco(coco_root, tmp_path, class_split='novel')
    with pytest.raises(ValueError, match='new_class_images'):
        make_coco(coco_root, tmp_path, class_split='base',
                  new_class_images='drop')


def test_coco_classes_constant():
    assert len(COCO_CLASSES) == 80 == len(set(COCO_CLASSES))
    # Anchors from the canonical id order (base/new boundary at 40).
    assert COCO_CLASSES[0] == 'person'
    assert COCO_CLASSES[39] == 'bottle'
    assert COCO_CLASSES[40] == 'wine glass'
    assert COCO_CLASSES[79] == 'toothbrush'


# --------------------------------------------------------------------- #
# bad input                                                             #
# --------------------------------------------------------------------- #


def test_coco_missing_annotation_file(tmp_path):
    path = tmp_path / 'annotations' / 'instances_val2014.json'
    with pytest.raises(FileNotFoundError) as err:
        CocoMultiLabel(ann_file=str(path), data_root=str(tmp_path),
                       split_dir=str(tmp_path / 'splits'))
    assert str(path) in str(err.value)


def test_coco_malformed_json(tmp_path):
    path = tmp_path / 'broken.json'
    path.write_text('{"images": [')
    with pytest.raises(ValueError) as err:
        CocoMultiLabel(ann_file=str(path), data_root=str(tmp_path),
                       split_dir=str(tmp_path / 'splits'))
    assert str(path) in str(err.value)


def _without_categories():
    data = coco_dict()
    del data['categories']
    return data


@pytest.mark.parametrize('make, word', [
    (_without_categories, 'categories'),
    (lambda: coco_dict(anns=COCO_ANNS + [(11, 99, 0)]), '99'),  # category
    (lambda: coco_dict(anns=COCO_ANNS + [(555, 1, 0)]), '555'),  # image
])
def test_coco_bad_annotations_name_file_and_value(tmp_path, make, word):
    path = write_json(tmp_path / 'bad.json', make())
    with pytest.raises(ValueError) as err:
        CocoMultiLabel(ann_file=str(path), data_root=str(tmp_path),
                       split_dir=str(tmp_path / 'splits'))
    assert str(path) in str(err.value)
    assert word in str(err.value)


# --------------------------------------------------------------------- #
# list files                                                            #
# --------------------------------------------------------------------- #


def test_read_class_names_plain(tmp_path):
    path = tmp_path / 'classes.txt'
    path.write_text('dog\ncat\n\nhot dog\n')
    assert read_class_names(str(path)) == ['dog', 'cat', 'hot dog']
    assert read_class_names(('a', 'b')) == ['a', 'b']


def test_read_class_names_with_indices(tmp_path):
    # LMPT form: the last token is the index; lines need not be in order.
    path = tmp_path / 'labels.txt'
    path.write_text('traffic light 2\nperson 0\nbicycle 1\n')
    assert read_class_names(str(path)) == [
        'person', 'bicycle', 'traffic light'
    ]


def test_read_class_names_errors(tmp_path):
    gap = tmp_path / 'gap.txt'
    gap.write_text('person 0\ncar 2\n')
    with pytest.raises(ValueError, match='gap.txt'):
        read_class_names(str(gap))
    missing = tmp_path / 'nope.txt'
    with pytest.raises(FileNotFoundError, match='nope.txt'):
        read_class_names(str(missing))


LIST_CLASSES = ['dog', 'cat', 'bird']


@pytest.fixture
def list_root(tmp_path):
    root = tmp_path / 'lt'
    root.mkdir()
    (root / 'classes.txt').write_text('\n'.join(LIST_CLASSES) + '\n')
    (root / 'train.txt').write_text(
        'imgs/a.jpg 0 2\n'
        'imgs/b.jpg\n'
        '\n'
        'imgs/c.jpg 1\n'
        'imgs/d.jpg 2 1 0\n')
    return root


def make_list(root, tmp_path, ann='train.txt', **kwargs):
    kwargs.setdefault('classes', 'classes.txt')
    kwargs.setdefault('serialize_data', False)
    kwargs.setdefault('missing_images', 'keep')  # no image files written
    return MultiLabelListDataset(
        ann_file=str(root / ann),
        data_root=str(root),
        data_prefix=dict(img_path='images'),
        split_dir=str(tmp_path / 'splits'),
        **kwargs)


def test_list_dataset_labels(list_root, tmp_path):
    ds = make_list(list_root, tmp_path)
    assert ds.metainfo['classes'] == LIST_CLASSES
    assert labels_by_id(ds) == {
        'imgs/a.jpg': [1, 0, 1],
        'imgs/b.jpg': [0, 0, 0],
        'imgs/c.jpg': [0, 1, 0],
        'imgs/d.jpg': [1, 1, 1],
    }
    assert ds.get_data_info(0)['img_path'] == str(
        list_root / 'images' / 'imgs' / 'a.jpg')


def test_list_dataset_prompt_names(list_root, tmp_path):
    ds = make_list(list_root, tmp_path, prompt_names={'cat': 'kitty'})
    assert ds.metainfo['classes'] == LIST_CLASSES
    assert ds.metainfo['prompt_names'] == ['dog', 'kitty', 'bird']
    # A list covers all classes and follows the class split (base = 2).
    ds = make_list(list_root, tmp_path, class_split='base',
                   prompt_names=['a dog', 'a cat', 'a bird'])
    assert ds.metainfo['classes'] == ['dog', 'cat']
    assert ds.metainfo['prompt_names'] == ['a dog', 'a cat']
    with pytest.raises(ValueError, match='prompt_names'):
        make_list(list_root, tmp_path, prompt_names=['a', 'b'])


@pytest.mark.parametrize('line', ['x.jpg 0 3', 'x.jpg 1 -1', 'x.jpg one'])
def test_list_dataset_bad_index(list_root, tmp_path, line):
    path = list_root / 'bad.txt'
    path.write_text(f'imgs/a.jpg 0\n\n{line}\n')
    with pytest.raises(ValueError) as err:
        make_list(list_root, tmp_path, ann='bad.txt')
    assert f'{path}:3' in str(err.value)


def test_list_dataset_missing_files(list_root, tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        make_list(list_root, tmp_path, ann='missing.txt')
    with pytest.raises(FileNotFoundError, match='no_classes.txt'):
        make_list(list_root, tmp_path, classes='no_classes.txt')


# --------------------------------------------------------------------- #
# few-shot sampler                                                      #
# --------------------------------------------------------------------- #


def greedy_reference(img_ids, labels, k, seed):
    """A plain-Python restatement of decision 1."""
    order = sorted(range(len(img_ids)), key=lambda i: str(img_ids[i]))
    random.Random(seed).shuffle(order)
    count = [0] * len(labels[0])
    taken = []
    for i in order:
        pos = [c for c, v in enumerate(labels[i]) if v == 1]
        if any(count[c] < k for c in pos):
            taken.append(i)
            for c in pos:
                count[c] += 1
    return taken


# Rows a..f over 3 classes; 'c' has no positive (-1 is not a positive).
TINY_IDS = ['a', 'b', 'c', 'd', 'e', 'f']
TINY_LABELS = np.array([
    [1, 1, 0],
    [1, 0, 0],
    [0, -1, 0],
    [0, 1, 1],
    [0, 0, 1],
    [1, 0, 0],
])


def test_greedy_hand_worked():
    order = list(range(6))
    random.Random(0).shuffle(order)
    assert order == [4, 2, 1, 0, 5, 3]  # the premise of the walk below
    # K=1: e takes bus -> [0,0,1]; c has no positive; b -> [1,0,1];
    # a adds class 1 -> [2,1,1]; f (class 0 full) and d (1, 2 full) skip.
    assert sample_few_shot(TINY_IDS, TINY_LABELS, 1, seed=0) == [4, 1, 0]
    # K=2: e, b, a as above; f skipped (class 0 has 2); d -> [2,2,2].
    assert sample_few_shot(TINY_IDS, TINY_LABELS, 2, seed=0) == [4, 1, 0, 3]


def test_greedy_order_follows_sorted_ids_not_rows():
    # The same images listed in another order give the same images.
    perm = [3, 5, 0, 2, 1, 4]
    ids = [TINY_IDS[p] for p in perm]
    chosen = sample_few_shot(ids, TINY_LABELS[perm], 1, seed=0)
    assert [ids[r] for r in chosen] == ['e', 'b', 'a']


@pytest.mark.parametrize('k', [1, 2, 3])
@pytest.mark.parametrize('seed', [1, 2, 3, 4, 5])
def test_greedy_matches_reference_and_invariants(k, seed):
    rng = np.random.default_rng(100 + seed)
    n, c = 40, 6
    # Class 5 is rare (2 images), some rows are empty.
    labels = (rng.random((n, c)) < [0.6, 0.3, 0.2, 0.1, 0.1, 0]) * 1
    labels[[7, 21], 5] = 1
    labels[rng.random(n) < 0.15] = 0
    ids = [f'img{i:03d}' for i in rng.permutation(n)]
    chosen = sample_few_shot(ids, labels, k, seed)
    assert chosen == greedy_reference(ids, labels.tolist(), k, seed)
    assert len(set(chosen)) == len(chosen)
    assert all(labels[r].any() for r in chosen)
    total = labels.sum(0)
    got = labels[chosen].sum(0)
    for cls in range(c):
        assert got[cls] == total[cls] if total[cls] < k else got[cls] >= k


def test_greedy_seed_determinism():
    rng = np.random.default_rng(0)
    labels = (rng.random((30, 4)) < 0.3) * 1
    ids = [f'{i:02d}' for i in range(30)]
    runs = {s: sample_few_shot(ids, labels, 1, s) for s in range(1, 6)}
    assert runs[1] == sample_few_shot(ids, labels, 1, 1)
    assert len({tuple(r) for r in runs.values()}) > 1
    with pytest.raises(ValueError):
        sample_few_shot(ids, labels, 0, 1)


def test_base_new_split():
    assert base_new_split(3) == {'base': [0, 1], 'new': [2]}
    assert base_new_split(20) == {
        'base': list(range(10)), 'new': list(range(10, 20))
    }
    # NUS-WIDE (81): 41 base, 40 new.
    split = base_new_split(81)
    assert split['base'] == list(range(41))
    assert split['new'] == list(range(41, 81))


# --------------------------------------------------------------------- #
# few-shot datasets and split files                                     #
# --------------------------------------------------------------------- #

# 10 images over 3 classes: dog is frequent, bird is rare (1 image).
FS_LABELS = {
    'x0.jpg': [1, 0, 0],
    'x1.jpg': [1, 1, 0],
    'x2.jpg': [0, 1, 0],
    'x3.jpg': [1, 0, 1],
    'x4.jpg': [0, 0, 0],
    'x5.jpg': [1, 1, 0],
    'x6.jpg': [0, 1, 0],
    'x7.jpg': [1, 0, 0],
    'x8.jpg': [1, 0, 0],
    'x9.jpg': [0, 0, 0],
}


@pytest.fixture
def fs_root(tmp_path):
    root = tmp_path / 'fs'
    root.mkdir()
    lines = [
        ' '.join([name] + [str(c) for c, v in enumerate(lab) if v])
        for name, lab in FS_LABELS.items()
    ]
    (root / 'pool.txt').write_text('\n'.join(lines) + '\n')
    return root


def make_fs(root, tmp_path, **kwargs):
    kwargs.setdefault('split_dir', str(tmp_path / 'splits'))
    kwargs.setdefault('serialize_data', False)
    kwargs.setdefault('missing_images', 'keep')  # no image files written
    return MultiLabelListDataset(
        classes=LIST_CLASSES, ann_file=str(root / 'pool.txt'),
        data_root=str(root), **kwargs)


def ids_of(dataset):
    return [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))]


def test_few_shot_dataset_follows_rule(fs_root, tmp_path):
    ds = make_fs(fs_root, tmp_path, num_shots=2, seed=3)
    ids = ids_of(ds)
    names = list(FS_LABELS)
    table = [FS_LABELS[n] for n in names]
    assert ids == [names[r] for r in greedy_reference(names, table, 2, 3)]
    chosen = np.array([FS_LABELS[i] for i in ids])
    assert chosen.any(1).all()  # x4, x9 have no positive
    got = chosen.sum(0)
    assert got[0] >= 2 and got[1] >= 2
    assert got[2] == 1  # bird: fewer than K, all of them
    assert ds.metainfo['shot_counts'] == got.tolist()
    # Class counts (head/medium/tail) come from the full pool.
    assert ds.metainfo['class_counts'] == [6, 4, 1]


def test_split_file_name_content_and_no_tmp(fs_root, tmp_path):
    ds = make_fs(fs_root, tmp_path, num_shots=2, seed=3)
    files = os.listdir(tmp_path / 'splits')
    assert len(files) == 1, files  # no leftover temporary file
    name = files[0]
    assert name.endswith('.json')
    for part in ('MultiLabelListDataset', 'pool', '2shot', 'seed3'):
        assert part in name
    saved = json.loads((tmp_path / 'splits' / name).read_text())
    assert saved['img_ids'] == ids_of(ds)
    assert saved['num_shots'] == 2 and saved['seed'] == 3
    expected = np.sum([FS_LABELS[i] for i in ids_of(ds)], 0).tolist()
    assert saved['shot_counts'] == expected
    # Other K or seed: other files.
    make_fs(fs_root, tmp_path, num_shots=1, seed=3)
    make_fs(fs_root, tmp_path, num_shots=2, seed=4)
    assert len(os.listdir(tmp_path / 'splits')) == 3


def test_split_file_is_reused(fs_root, tmp_path):
    first = make_fs(fs_root, tmp_path, num_shots=1, seed=1)
    (path, ) = (tmp_path / 'splits').iterdir()
    subset = ['x6.jpg', 'x3.jpg']
    assert ids_of(first) != subset
    saved = json.loads(path.read_text())
    saved['img_ids'] = subset
    path.write_text(json.dumps(saved))
    again = make_fs(fs_root, tmp_path, num_shots=1, seed=1)
    assert ids_of(again) == subset
    assert again.metainfo['shot_counts'] == [1, 1, 1]


def test_split_file_unknown_ids(fs_root, tmp_path):
    make_fs(fs_root, tmp_path, num_shots=1, seed=1)
    (path, ) = (tmp_path / 'splits').iterdir()
    saved = json.loads(path.read_text())
    saved['img_ids'] = ['x1.jpg', 'ghost.jpg']
    path.write_text(json.dumps(saved))
    with pytest.raises(ValueError) as err:
        make_fs(fs_root, tmp_path, num_shots=1, seed=1)
    assert str(path) in str(err.value)
    assert 'ghost.jpg' in str(err.value)


def test_split_file_write_is_atomic(fs_root, tmp_path, monkeypatch):
    import mmccr.utils.io as mmccr_io

    def fail(*args):
        raise OSError('disk full')

    monkeypatch.setattr(mmccr_io.os, 'replace', fail)
    with pytest.raises(OSError, match='disk full'):
        make_fs(fs_root, tmp_path, num_shots=1, seed=1)
    # Neither a partial split file nor a temporary file is left behind.
    assert os.listdir(tmp_path / 'splits') == []


def test_few_shot_seed_determinism(fs_root, tmp_path):
    runs = {
        s: ids_of(make_fs(fs_root, tmp_path, num_shots=1, seed=s,
                          split_dir=str(tmp_path / f'a{s}')))
        for s in range(1, 6)
    }
    again = make_fs(fs_root, tmp_path, num_shots=1, seed=2,
                    split_dir=str(tmp_path / 'b2'))
    assert ids_of(again) == runs[2]
    assert len({tuple(r) for r in runs.values()}) > 1


def test_few_shot_base_counts_training_classes_only(fs_root, tmp_path):
    # Base = dog, cat. Bird-only images would not qualify; x3 (dog, bird)
    # may only be chosen for dog.
    for seed in range(1, 6):
        ds = make_fs(fs_root, tmp_path, num_shots=1, seed=seed,
                     class_split='base')
        ids = ids_of(ds)
        names = list(FS_LABELS)
        base_table = [FS_LABELS[n][:2] for n in names]
        expected = greedy_reference(names, base_table, 1, seed)
        assert ids == [names[r] for r in expected]
        assert all(ds.get_data_info(i)['gt_label'].any()
                   for i in range(len(ds)))


def test_few_shot_mask_and_exclude_do_not_share_a_split(fs_root, tmp_path):
    # Base = dog, cat; x3 (dog, bird) is in the 'mask' pool only. The two
    # samples must not be read from one file.
    masked = []
    for seed in range(1, 6):
        kw = dict(num_shots=3, seed=seed, class_split='base')
        masked.append(ids_of(make_fs(fs_root, tmp_path, **kw)))
        ex = make_fs(fs_root, tmp_path, new_class_images='exclude', **kw)
        assert 'x3.jpg' not in ids_of(ex)
        names = [n for n in FS_LABELS if n != 'x3.jpg']
        table = [FS_LABELS[n][:2] for n in names]
        expected = greedy_reference(names, table, 3, seed)
        assert ids_of(ex) == [names[r] for r in expected]
    assert any('x3.jpg' in ids for ids in masked)
    assert len(os.listdir(tmp_path / 'splits')) == 2 * 5


# --------------------------------------------------------------------- #
# head / medium / tail                                                  #
# --------------------------------------------------------------------- #


def test_frequency_group_boundaries():
    assert frequency_groups([19, 20, 99, 100, 0, 5000]) == {
        'head': [3, 5],
        'medium': [1, 2],
        'tail': [0, 4],
    }


def test_frequency_groups_voc_lt():
    # VOC-LT training counts in canonical order and its published groups.
    counts = [6, 34, 8, 14, 154, 17, 249, 29, 479, 4, 240, 48, 11, 20, 775,
              100, 5, 82, 7, 64]
    assert frequency_groups(counts) == {
        'head': [4, 6, 8, 10, 14, 15],
        'medium': [1, 7, 11, 13, 17, 19],
        'tail': [0, 2, 3, 5, 9, 12, 16, 18],
    }


def test_class_counts_list_with_class_split(coco_root, tmp_path):
    ds = make_coco(coco_root, tmp_path, class_counts=[100, 20, 19],
                   test_mode=True)
    groups = ds.metainfo['groups']
    assert (groups['head'], groups['medium'], groups['tail']) == \
        ([0], [1], [2])
    assert ds.metainfo['class_counts'] == [100, 20, 19]
    # The groups index into the selected classes.
    new = make_coco(coco_root, tmp_path, class_counts=[100, 20, 19],
                    test_mode=True, class_split='new')
    assert new.metainfo['groups'] == dict(
        base=[], new=[0], head=[], medium=[], tail=[0])
    assert new.metainfo['class_counts'] == [19]
    base = make_coco(coco_root, tmp_path, class_counts=[99, 100, 5],
                     test_mode=True, class_split='base')
    assert base.metainfo['groups'] == dict(
        base=[0, 1], new=[], head=[1], medium=[0], tail=[])
    with pytest.raises(ValueError, match='class_counts'):
        make_coco(coco_root, tmp_path, class_counts=[1, 2])


def test_test_mode_without_counts_has_no_frequency_groups(coco_root,
                                                          tmp_path):
    ds = make_coco(coco_root, tmp_path, test_mode=True)
    assert ds.metainfo['class_counts'] is None
    assert set(ds.metainfo['groups']) == {'base', 'new'}


def test_class_counts_from_training_file_are_cached(coco_root, tmp_path):
    # Training pool: cat in 100 images, apple in 20, bus in 19.
    images = {i: f'{i}.jpg' for i in range(100)}
    anns = [(i, 1, 0) for i in range(100)]
    anns += [(i, 3, 0) for i in range(20)]
    anns += [(i, 7, 0) for i in range(20, 39)]
    anns += [(0, 3, 0)]  # a second apple in one image counts once
    train = write_json(coco_root / 'annotations' / 'instances_lt.json',
                       coco_dict(images=images, anns=anns))
    ds = make_coco(coco_root, tmp_path, test_mode=True,
                   class_counts='annotations/instances_lt.json')
    groups = ds.metainfo['groups']
    assert (groups['head'], groups['medium'], groups['tail']) == \
        ([0], [1], [2])
    assert ds.metainfo['class_counts'] == [100, 20, 19]
    (cache, ) = (tmp_path / 'splits').iterdir()
    assert 'instances_lt' in cache.name and cache.suffix == '.json'
    assert json.loads(cache.read_text())['class_counts'] == [100, 20, 19]
    # The cache is used: the training file is no longer needed.
    train.unlink()
    again = make_coco(coco_root, tmp_path, test_mode=True,
                      class_counts=str(train))
    assert again.metainfo['class_counts'] == [100, 20, 19]


# --------------------------------------------------------------------- #
# SyntheticShapes                                                       #
# --------------------------------------------------------------------- #

SHAPE_COLORS = {
    'red': (220, 40, 40),
    'green': (40, 180, 60),
    'blue': (50, 80, 220),
    'yellow': (230, 210, 40),
}


def synthetic(tmp_path, **kwargs):
    kwargs.setdefault('serialize_data', False)
    return SyntheticShapes(num_images=12, image_size=24,
                           split_dir=str(tmp_path / 'splits'), **kwargs)


def dump(dataset):
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return (np.stack([d['img'] for d in infos]),
            np.stack([d['gt_label'] for d in infos]))


def test_synthetic_spec(tmp_path):
    ds = synthetic(tmp_path)
    classes = ds.metainfo['classes']
    assert len(classes) == 12 == len(set(classes))
    assert {c.split(' ')[0] for c in classes} == set(SHAPE_COLORS)
    assert {c.split(' ')[1] for c in classes} == {
        'square', 'circle', 'triangle'
    }
    imgs, labels = dump(ds)
    assert imgs.shape == (12, 24, 24, 3) and imgs.dtype == np.uint8
    assert set(np.unique(labels)) <= {0, 1}
    assert ((labels.sum(1) >= 1) & (labels.sum(1) <= 3)).all()
    # Every colour drawn belongs to a positive class (the background noise
    # is darker than all of them), and the last shape drawn is visible.
    for img, lab in zip(imgs, labels, strict=True):
        positive = {classes[c].split(' ')[0] for c in np.flatnonzero(lab)}
        present = {
            name for name, rgb in SHAPE_COLORS.items()
            if (img == rgb).all(-1).any()
        }
        assert present and present <= positive


def test_synthetic_determinism(tmp_path):
    imgs, labels = dump(synthetic(tmp_path, data_seed=0))
    imgs2, labels2 = dump(synthetic(tmp_path, data_seed=0))
    assert np.array_equal(imgs, imgs2) and np.array_equal(labels, labels2)
    other, _ = dump(synthetic(tmp_path, data_seed=1))
    test, _ = dump(synthetic(tmp_path, data_seed=0, split='test'))
    assert not np.array_equal(imgs, other)
    assert not np.array_equal(imgs, test)
    with pytest.raises(ValueError, match='split'):
        synthetic(tmp_path, split='val')


def test_synthetic_through_pipeline(tmp_path):
    ds = synthetic(tmp_path, pipeline=[LoadImage(), PackInputs()])
    info = ds.get_data_info(3)
    out = ds[3]
    assert torch.equal(out['inputs'],
                       torch.from_numpy(info['img']).permute(2, 0, 1))
    assert out['data_samples']['sample_idx'] == 3
    assert out['data_samples']['gt_label'].tolist() == \
        info['gt_label'].tolist()


# --------------------------------------------------------------------- #
# transforms                                                            #
# --------------------------------------------------------------------- #


def two_colour_image():
    # 4 x 6: left half red, right half blue, one green pixel.
    img = np.zeros((4, 6, 3), np.uint8)
    img[:, :3] = (255, 0, 0)
    img[:, 3:] = (0, 0, 255)
    img[1, 4] = (0, 255, 0)
    return img


def test_load_image_png(tmp_path):
    path = write_image(tmp_path / 'x.png', two_colour_image())
    out = LoadImage()(dict(img_path=str(path)))
    img = out['img']
    assert isinstance(img, torch.Tensor) and img.dtype == torch.uint8
    assert img.shape == (3, 4, 6)
    assert out['ori_shape'] == (4, 6)
    assert img[:, 0, 0].tolist() == [255, 0, 0]
    assert img[:, 3, 5].tolist() == [0, 0, 255]
    assert img[:, 1, 4].tolist() == [0, 255, 0]


def test_load_image_grey_and_jpeg(tmp_path):
    grey = tmp_path / 'g.png'
    Image.fromarray(np.full((5, 3), 90, np.uint8), mode='L').save(grey)
    img = LoadImage()(dict(img_path=str(grey)))['img']
    assert img.shape == (3, 5, 3) and (img == 90).all()
    jpg = write_image(tmp_path / 'x.jpg', np.full((8, 10, 3), 128))
    img = LoadImage()(dict(img_path=str(jpg)))['img']
    assert img.shape == (3, 8, 10) and img.dtype == torch.uint8
    assert (img.int() - 128).abs().max() <= 2  # lossy, but near


def test_load_image_corrupted(tmp_path):
    path = tmp_path / 'x.jpg'
    path.write_bytes(b'\x00garbage, not an image\xff' * 4)
    with pytest.raises(OSError) as err:
        LoadImage()(dict(img_path=str(path)))
    assert str(path) in str(err.value)


def test_load_image_truncated(tmp_path):
    buf = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3))
    Image.fromarray(noise.astype(np.uint8)).save(buf, format='JPEG')
    path = tmp_path / 'cut.jpg'
    path.write_bytes(buf.getvalue()[:len(buf.getvalue()) // 2])
    with pytest.raises(OSError) as err:
        LoadImage()(dict(img_path=str(path)))
    assert str(path) in str(err.value)


def test_load_image_missing(tmp_path):
    path = tmp_path / 'nowhere' / 'x.jpg'
    with pytest.raises(FileNotFoundError) as err:
        LoadImage()(dict(img_path=str(path)))
    assert str(path) in str(err.value)


def test_resize():
    img = torch.full((3, 10, 16), 77, dtype=torch.uint8)
    out = Resize((5, 7))(dict(img=img))['img']
    assert out.shape == (3, 5, 7) and out.dtype == torch.uint8
    assert (out == 77).all()  # a constant image stays constant
    out = Resize(8, interpolation='bilinear')(dict(img=img))['img']
    assert out.shape == (3, 8, 8)


def test_random_flip():
    img = torch.from_numpy(two_colour_image()).permute(2, 0, 1)
    for _ in range(5):
        out = RandomFlip(prob=1.0)(dict(img=img.clone()))['img']
        assert torch.equal(out, torch.flip(img, dims=[-1]))
        assert out[:, 0, 0].tolist() == [0, 0, 255]
        out = RandomFlip(prob=0.0)(dict(img=img.clone()))['img']
        assert torch.equal(out, img)


def test_pack_inputs():
    img = torch.zeros((3, 2, 2), dtype=torch.uint8)
    out = PackInputs()(
        dict(img=img, gt_label=np.array([1, 0, -1], np.int8),
             sample_idx=np.int64(4), img_path='ignored.jpg'))
    assert set(out) == {'inputs', 'data_samples'}
    assert out['inputs'] is img and out['inputs'].dtype == torch.uint8
    sample = out['data_samples']
    assert set(sample) == {'gt_label', 'sample_idx'}
    assert sample['gt_label'].dtype == torch.float32
    assert sample['gt_label'].tolist() == [1.0, 0.0, -1.0]
    assert sample['sample_idx'] == 4 and type(sample['sample_idx']) is int


# --------------------------------------------------------------------- #
# registry                                                              #
# --------------------------------------------------------------------- #


def coco_cfg(root, tmp_path, **kwargs):
    return dict(
        type='CocoMultiLabel',
        ann_file='annotations/instances_train.json',
        data_root=str(root),
        data_prefix=dict(img_path='images'),
        split_dir=str(tmp_path / 'splits'),
        pipeline=[
            dict(type='LoadImage'),
            dict(type='Resize', size=16),
            dict(type='RandomFlip', prob=0.0),
            dict(type='PackInputs'),
        ],
        **kwargs)


def test_build_from_registry(coco_root, tmp_path):
    from mmengine.registry import DATASETS as ENGINE_DATASETS

    from mmccr.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmccr'):
        ds = DATASETS.build(coco_cfg(coco_root, tmp_path,
                                     class_split='base'))
        # The Runner builds through mmengine's root registry.
        root_ds = ENGINE_DATASETS.build(coco_cfg(coco_root, tmp_path))
    assert isinstance(ds, CocoMultiLabel)
    assert isinstance(root_ds, CocoMultiLabel)
    assert ds.metainfo['classes'] == ['cat', 'apple']
    for i in range(len(ds)):
        out = ds[i]
        img_id = ds.get_data_info(i)['img_id']
        assert out['inputs'].shape == (3, 16, 16)
        assert out['inputs'].dtype == torch.uint8
        assert out['data_samples']['gt_label'].tolist() == \
            COCO_LABELS[img_id][:2]
        assert out['data_samples']['sample_idx'] == i


def test_registry_unknown_type(tmp_path):
    from mmccr.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmccr'):
        with pytest.raises(KeyError, match='NoSuchDataset'):
            DATASETS.build(dict(type='NoSuchDataset', ann_file='x'))
