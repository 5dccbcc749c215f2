"""Caption corpora: the offline label matcher, sources and the leak guard."""
import json

import numpy as np
import pytest

from mmccr.datasets import (
    CaptionDataset,
    CaptionLabelMatcher,
    CocoCaptions,
    ToyWorldCaptions,
    sample_few_shot,
)
from mmccr.datasets.caption_matcher import plurals
from mmccr.datasets.captions import scene_objects
from mmccr.datasets.toyworld import CLASS_NAMES
from mmccr.datasets.transforms import PackCaption

CLASSES = ['person', 'dog', 'hot dog', 'cat', 'car', 'traffic light',
           'couch', 'bus', 'knife', 'sheep']
SYNONYMS = {'person': ['man', 'woman', 'child'], 'couch': ['sofa'],
            'dog': ['puppy']}


@pytest.fixture(scope='module')
def matcher():
    return CaptionLabelMatcher(CLASSES, SYNONYMS, use_wordnet=False)


def names(matcher, caption):
    return [CLASSES[i] for i in matcher.match(caption)]


@pytest.mark.parametrize('caption, expected', [
    # synonyms and irregular plurals
    ('Two men and a puppy on a sofa.', ['person', 'dog', 'couch']),
    ('Children playing near the buses', ['person', 'bus']),
    ('A flock of sheep.', ['sheep']),
    # regular plurals: -s, -es, -ies, -ves
    ('three cats and some knives', ['cat', 'knife']),
    ('Puppies everywhere!', ['dog']),
    # multi-word names, singular and plural; the longest phrase wins
    ('a hot dog with mustard', ['hot dog']),
    ('hot dogs next to a dog', ['dog', 'hot dog']),
    ('Traffic lights over a busy street with cars.',
     ['car', 'traffic light']),
    # no match inside another word, nor across a broken phrase
    ('a category of carpets in a catalogue', []),
    ('the scatter of busy dogma', []),
    ("the dog's bowl", ['dog']),
    ('a light in the traffic', []),
])
def test_matcher_on_hand_written_captions(matcher, caption, expected):
    assert names(matcher, caption) == sorted(expected, key=CLASSES.index)


def test_plural_rules():
    assert plurals('box') == ('boxes', )
    assert plurals('puppy') == ('puppies', )
    assert plurals('toy') == ('toys', )  # vowel + y
    assert plurals('knife')[0] == 'knives'
    assert plurals('person') == ('people', 'persons')


def test_matcher_refuses_ambiguous_synonyms():
    with pytest.raises(ValueError, match="'sofa'.*'couch'.*'bed'"):
        CaptionLabelMatcher(['couch', 'bed'], {'couch': ['sofa'],
                                               'bed': ['sofa']})
    with pytest.raises(ValueError, match='unknown classes'):
        CaptionLabelMatcher(['couch'], {'chair': ['seat']})


def test_matcher_recovers_toy_world_scenes():
    """Toy captions use synonyms; the matcher must find every object."""
    ds = ToyWorldCaptions(num_captions=300, pipeline=[], lazy_init=False,
                          drop_empty=False)
    assert len(ds) == 300
    for i in range(len(ds)):
        item = ds.get_data_info(i)
        expected = np.zeros(len(CLASS_NAMES), np.int8)
        expected[scene_objects(0, 'train', i)] = 1
        assert item['gt_label'].tolist() == expected.tolist(), item['text']


def write_text(tmp_path, name, lines):
    path = tmp_path / name
    path.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    return str(path)


def test_text_file_corpus_with_and_without_labels(tmp_path):
    ann = write_text(tmp_path, 'my_captions.txt', [
        'a man walking his dog',
        'a red couch\tcouch,cat',  # file labels win
        'nothing here',  # no class: dropped
        'a sofa in a room',
    ])
    ds = CaptionDataset(ann_file=ann, classes=CLASSES, synonyms=SYNONYMS,
                        pipeline=[PackCaption()],
                        lazy_init=False)
    rows = [(ds.get_data_info(i)['text'],
             [CLASSES[c] for c in np.flatnonzero(
                 ds.get_data_info(i)['gt_label'] == 1)])
            for i in range(len(ds))]
    assert rows == [('a man walking his dog', ['person', 'dog']),
                    ('a red couch', ['cat', 'couch']),
                    ('a sofa in a room', ['couch'])]
    packed = ds[0]
    assert packed['inputs'] == 'a man walking his dog'
    assert packed['data_samples']['gt_label'].tolist() == \
        [1., 1.] + [0.] * 8
    with pytest.raises(ValueError, match=r'my_captions.txt:1.*no labels'):
        CaptionDataset(ann_file=ann, classes=CLASSES, labels='file',
                       lazy_init=False)


@pytest.mark.parametrize('name', ['captions_val2014.txt', 'test.txt',
                                  'coco-val.txt', 'captions_valid.txt'])
def test_leak_guard_refuses_eval_caption_files(tmp_path, name):
    ann = write_text(tmp_path, name, ['a dog'])
    with pytest.raises(ValueError, match=name.replace('.', r'\.')):
        CaptionDataset(ann_file=ann, classes=CLASSES, lazy_init=False)
    forced = CaptionDataset(ann_file=ann, classes=CLASSES, lazy_init=False,
                            allow_eval_captions=True)
    assert len(forced) == 1


def coco_captions(tmp_path, name):
    ann = tmp_path / 'annotations' / name
    ann.parent.mkdir(exist_ok=True)
    ann.write_text(json.dumps(dict(images=[], annotations=[
        dict(id=7, image_id=1, caption='A man riding a motorbike.'),
        dict(id=3, image_id=1, caption='Two giraffes and a zebra.'),
        dict(id=9, image_id=2, caption='An empty road.'),
    ])), encoding='utf-8')
    return str(tmp_path)


@pytest.mark.parametrize('name', ['captions_val2014.json',
                                  'captions_train2017.json'])
def test_coco_leak_guard_names_the_file(tmp_path, name):
    root = coco_captions(tmp_path, name)
    with pytest.raises(ValueError, match=name.replace('.', r'\.')):
        CocoCaptions(data_root=root, ann_file=f'annotations/{name}',
                     lazy_init=False)
    forced = CocoCaptions(data_root=root, ann_file=f'annotations/{name}',
                          allow_eval_captions=True, lazy_init=False)
    assert len(forced) == 2


def test_coco_train2014_captions(tmp_path):
    root = coco_captions(tmp_path, 'captions_train2014.json')
    ds = CocoCaptions(data_root=root, lazy_init=False)
    items = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['img_id'] for i in items] == ['3', '7']  # by caption id
    classes = ds.metainfo['classes']
    assert [[classes[c] for c in np.flatnonzero(i['gt_label'])]
            for i in items] == [['zebra', 'giraffe'],
                                ['person', 'motorcycle']]
    with pytest.raises(FileNotFoundError,
                       match='captions_train2014.json.*annotations'):
        CocoCaptions(data_root=str(tmp_path / 'nowhere'), lazy_init=False)


def test_few_shot_captions_follow_the_image_rule():
    full = ToyWorldCaptions(num_captions=400, class_split='base',
                            lazy_init=False)
    shots = ToyWorldCaptions(num_captions=400, class_split='base',
                             num_shots=2, seed=3, lazy_init=False)
    labels = np.stack([full.get_data_info(i)['gt_label']
                       for i in range(len(full))])
    ids = [full.get_data_info(i)['img_id'] for i in range(len(full))]
    rows = sample_few_shot(ids, labels, 2, 3)
    assert [shots.get_data_info(i)['img_id'] for i in range(len(shots))] \
        == [ids[r] for r in rows]
    counts = (labels[rows] == 1).sum(0)
    assert ((counts >= 2) | (counts == (labels == 1).sum(0))).all()
