"""Tests of COCO-LT and VOC-LT: DBL's id files select the training images,
DBL's pickles (written here in DBL's Python-2 protocol, with numpy arrays
and sets) give counts and head / medium / tail, LMPT list files give the
same labels, and bad split files are reported.
"""
import json
import pickle

import numpy as np
import pytest

from mmccr.datasets import COCO_CLASSES, COCOLT, VOC_CLASSES, VOCLT

# ---------------------------------------------------------------- COCO-LT
# train2017 holds images 1..5; DBL's subset is 4, 2, 5. Category id k + 1
# is COCO_CLASSES[k] (sorted ids map to canonical order).
COCO_ANNS = {1: [0], 2: [0, 2], 3: [5], 4: [2, 79], 5: []}
LT_IDS = ['4', '2', '5']
# Hand-made DBL split that deliberately disagrees with the count rule (class
# 0 has 1 image but is 'head'), so a pass proves the file is read.
HEAD, MIDDLE = {0, 1}, set(range(2, 40))


def coco_json(anns):
    return dict(
        images=[dict(id=i, file_name=f'{i:012d}.jpg', height=4, width=4)
                for i in anns],
        annotations=[dict(id=10 * i + n, image_id=i, category_id=c + 1,
                          iscrowd=0, bbox=[0, 0, 2, 2], area=4)
                     for i, cs in anns.items() for n, c in enumerate(cs)],
        categories=[dict(id=k + 1, name=n) for k, n in
                    enumerate(COCO_CLASSES)])


def write_dbl(folder, ids, freq, num_classes, ids_name):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ids_name).write_text('\n'.join(ids) + '\n')
    split = {'head': HEAD, 'middle': MIDDLE,
             'tail': set(range(num_classes)) - HEAD - MIDDLE}
    if num_classes == 20:
        split = {'head': {0}, 'middle': {1}, 'tail': set(range(2, 20))}
    with open(folder / 'class_split.pkl', 'wb') as f:
        pickle.dump(split, f, protocol=2)
    with open(folder / 'class_freq.pkl', 'wb') as f:
        pickle.dump({'class_freq': np.asarray(freq),
                     'gt_labels': np.zeros((len(ids), num_classes))}, f,
                    protocol=2)


@pytest.fixture
def coco_lt(tmp_path):
    root = tmp_path / 'coco'
    (root / 'annotations').mkdir(parents=True)
    (root / 'annotations' / 'instances_train2017.json').write_text(
        json.dumps(coco_json(COCO_ANNS)))
    (root / 'annotations' / 'instances_val2017.json').write_text(
        json.dumps(coco_json({7: [5], 8: []})))
    freq = np.zeros(80, int)  # images 4, 2, 5 by hand: 0: 1, 2: 2, 79: 1
    freq[[0, 79]], freq[2] = 1, 2
    write_dbl(root / 'longtail2017', LT_IDS, freq, 80, 'img_id.pkl')
    # LMPT list of the same subset (paths relative to the root).
    (root / 'coco_lt_train.txt').write_text(
        'train2017/000000000004.jpg 2 79 \n'
        'train2017/000000000002.jpg 0 2\n'
        'train2017/000000000005.jpg\n')
    return root


def make(cls, root, **kwargs):
    kwargs.setdefault('serialize_data', False)
    kwargs.setdefault('missing_images', 'keep')  # no images written
    return cls(data_root=str(root), **kwargs)


def positives(ds):
    out = {}
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        key = str(info['img_id']).split('/')[-1].split('.')[0].lstrip('0')
        out[key] = np.flatnonzero(info['gt_label'] == 1).tolist()
    return out


def test_coco_lt_train_is_dbl_subset(coco_lt):
    ds = make(COCOLT, coco_lt)
    assert positives(ds) == {'4': [2, 79], '2': [0, 2], '5': []}
    assert ds.metainfo['class_counts'][:3] == [1, 0, 2]
    groups = ds.metainfo['groups']
    assert groups['head'] == [0, 1]  # from class_split.pkl, not the rule
    assert groups['medium'] == list(range(2, 40))
    assert ds.get_data_info(0)['img_path'].endswith(
        'train2017/000000000004.jpg')


def test_coco_lt_lmpt_list_gives_the_same_labels(coco_lt):
    dbl = positives(make(COCOLT, coco_lt))
    lmpt = positives(make(COCOLT, coco_lt, list_file='coco_lt_train.txt'))
    assert lmpt == dbl


def test_coco_lt_test_split_uses_val2017_and_dbl_counts(coco_lt):
    ds = make(COCOLT, coco_lt, split='test', test_mode=True)
    assert positives(ds) == {'7': [5], '8': []}
    assert ds.metainfo['class_counts'][:3] == [1, 0, 2]
    assert ds.metainfo['groups']['head'] == [0, 1]


def test_coco_lt_bad_split_files(coco_lt):
    ids = coco_lt / 'longtail2017' / 'img_id.pkl'
    ids.write_text('4\n99\n')
    with pytest.raises(ValueError, match=r"img_id\.pkl lists 1 .*'99'"):
        make(COCOLT, coco_lt)
    ids.write_text('4\n2\n4\n')
    with pytest.raises(ValueError, match=r'img_id\.pkl:3.*repeats line 1'):
        make(COCOLT, coco_lt)
    ids.write_text('4\n')
    with open(coco_lt / 'longtail2017' / 'class_split.pkl', 'wb') as f:
        pickle.dump({'head': {0}, 'middle': set(), 'tail': {1}}, f)
    with pytest.raises(ValueError, match=r'class_split\.pkl.*80 classes'):
        make(COCOLT, coco_lt)
    with pytest.raises(ValueError, match='split must be'):
        make(COCOLT, coco_lt, split='val')


def test_split_pickle_with_code_is_refused(coco_lt):
    class Evil:
        def __reduce__(self):
            return (eval, ('1',))
    with open(coco_lt / 'longtail2017' / 'class_freq.pkl', 'wb') as f:
        pickle.dump({'class_freq': Evil()}, f)
    with pytest.raises(pickle.UnpicklingError, match='eval'):
        make(COCOLT, coco_lt)


# ----------------------------------------------------------------- VOC-LT
# VOC2012 trainval: a, b, c; DBL subset: c, a. VOC2007 test: t.
VOC12 = {'2008_a': [('cat', 0), ('dog', 1)], '2008_b': [('cow', 0)],
         '2009_c': [('person', 0), ('person', 1), ('bird', 1)]}


def write_xml(folder, objects):
    folder.mkdir(parents=True, exist_ok=True)
    for img, objs in objects.items():
        body = ''.join(f'<object><name>{n}</name><difficult>{d}</difficult>'
                       '</object>' for n, d in objs)
        (folder / f'{img}.xml').write_text(
            f'<annotation>{body}</annotation>')


@pytest.fixture
def voc_lt(tmp_path):
    root = tmp_path / 'VOCdevkit'
    write_xml(root / 'VOC2012' / 'Annotations', VOC12)
    write_xml(root / 'VOC2007' / 'Annotations', {'t1': [('sofa', 0)]})
    main = root / 'VOC2007' / 'ImageSets' / 'Main'
    main.mkdir(parents=True)
    (main / 'test.txt').write_text('t1\n')
    freq = np.zeros(20, int)
    write_dbl(root / 'longtail2012', ['2009_c', '2008_a'], freq, 20,
              'img_id.txt')
    return root


def test_voc_lt_train_reads_voc2012_xml_of_dbl_ids(voc_lt):
    idx = {n: VOC_CLASSES.index(n) for n in ('bird', 'cat', 'dog',
                                             'person')}
    ds = make(VOCLT, voc_lt)
    # Default difficult rule in training: difficult-only -> negative.
    assert positives(ds) == {'2009_c': [idx['person']],
                             '2008_a': [idx['cat']]}
    dbl = make(VOCLT, voc_lt, difficult='positive')  # DBL / LMPT counting
    assert positives(dbl) == {
        '2009_c': sorted([idx['bird'], idx['person']]),
        '2008_a': sorted([idx['cat'], idx['dog']])}
    assert ds.metainfo['groups']['head'] == [0]
    assert ds.get_data_info(0)['img_path'].endswith(
        'VOC2012/JPEGImages/2009_c.jpg')


def test_voc_lt_test_is_voc2007_test(voc_lt):
    ds = make(VOCLT, voc_lt, split='test', test_mode=True)
    assert positives(ds) == {'t1': [VOC_CLASSES.index('sofa')]}
    assert ds.metainfo['groups']['tail'] == list(range(2, 20))


def test_voc_lt_id_without_annotation(voc_lt):
    (voc_lt / 'longtail2012' / 'img_id.txt').write_text('2008_a\n2010_z\n')
    with pytest.raises(FileNotFoundError, match=r'2010_z\.xml'):
        make(VOCLT, voc_lt)
