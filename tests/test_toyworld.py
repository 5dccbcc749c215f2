"""Tests of the toy world (``mmccr.datasets.toyworld``) and its tiny CLIP.

Expected values come from the world's specification (``docs/toyworld.md``),
restated here by hand: the vocabulary, the base/new checkerboard, the
intended frequency tier of every class, the co-occurrence groups and the
exclusive pairs, the caption vocabulary, and the zero-shot floor of the
committed checkpoint. Statistics are measured on generated pools and
compared with those statements, never with the generator's own tables.
"""
import itertools
import os
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open

from mmccr.datasets.toyworld import (
    CLASS_NAMES,
    ToyWorld,
    caption,
    sample_labels,
    sample_objects,
    scene_image,
    scene_rng,
)
from mmccr.datasets.transforms import Resize
from mmccr.evaluation.functional import average_precision
from mmccr.models.backbones.toyclip import (
    TOYCLIP_CONFIG,
    TOYCLIP_WEIGHTS,
    register_toyclip,
)
from mmccr.registry import DATASETS

# --------------------------------------------------------------------- #
# the specification                                                     #
# --------------------------------------------------------------------- #
COLOURS = ['red', 'yellow', 'green', 'cyan', 'blue', 'purple', 'pink']
SHAPES = ['ball', 'box', 'ring', 'star']
RGB = {
    'red': (215, 35, 35),
    'yellow': (240, 210, 30),
    'green': (40, 165, 55),
    'cyan': (40, 200, 210),
    'blue': (40, 85, 215),
    'purple': (135, 55, 185),
    'pink': (245, 130, 190),
}
COLOUR_WORDS = {
    'red': {'red', 'crimson', 'scarlet'},
    'yellow': {'yellow', 'golden'},
    'green': {'green', 'emerald'},
    'cyan': {'cyan', 'turquoise'},
    'blue': {'blue', 'azure'},
    'purple': {'purple', 'violet'},
    'pink': {'pink', 'rosy'},
}
SHAPE_WORDS = {
    'ball': {'ball', 'sphere'},
    'box': {'box', 'cube', 'crate'},
    'ring': {'ring', 'hoop'},
    'star': {'star'},
}
HEAD = {
    'red ball', 'yellow star', 'green ball', 'cyan box', 'pink ring',
    'yellow ball', 'green star', 'blue box', 'blue star'
}
TAIL = {
    'cyan star', 'blue ring', 'purple box', 'pink ball', 'green box',
    'cyan ring', 'purple ball', 'pink box'
}
GROUPS = [
    ('red ball', 'blue box', 'yellow ball', 'red box', 'cyan box'),
    ('yellow star', 'blue star', 'purple star', 'cyan star'),
    ('pink ring', 'yellow ring', 'purple ring', 'red ring'),
    ('green ball', 'green star', 'green ring', 'pink star'),
]
EXCLUSIVE = [('red ball', 'yellow star'), ('blue box', 'green ball'),
             ('yellow ball', 'pink ring'), ('green star', 'cyan box'),
             ('blue star', 'yellow box')]
#: Zero-shot mAP floor of the committed ToyCLIP on the first 300 test
#: images (measured value in docs/toyworld.md).
ZERO_SHOT_FLOOR = 0.5

DEFAULT_TRAIN_POOL = 5000


def class_index(name):
    return CLASS_NAMES.index(name)


@pytest.fixture(scope='module')
def train_pool_labels():
    """Labels of the default training pool (seed 0), ``(5000, 28)``."""
    return sample_labels(0, 'train', DEFAULT_TRAIN_POOL)


def images_and_labels(dataset):
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return (np.stack([d['img'] for d in infos]),
            np.stack([d['gt_label'] for d in infos]))


# --------------------------------------------------------------------- #
# vocabulary                                                            #
# --------------------------------------------------------------------- #
def test_classes_are_colour_shape_pairs_in_a_base_new_checkerboard():
    assert len(CLASS_NAMES) == 28 == len(set(CLASS_NAMES))
    pairs = [tuple(n.split(' ')) for n in CLASS_NAMES]
    assert set(pairs) == set(itertools.product(COLOURS, SHAPES))
    parity = [(COLOURS.index(c) + SHAPES.index(s)) % 2 for c, s in pairs]
    assert parity == [0] * 14 + [1] * 14  # base first, then new
    base, new = pairs[:14], pairs[14:]
    # New classes are recognisable from text: both words occur in base.
    for colour, shape in new:
        assert any(c == colour for c, _ in base)
        assert any(s == shape for _, s in base)


# --------------------------------------------------------------------- #
# label statistics                                                      #
# --------------------------------------------------------------------- #
def test_default_train_pool_has_the_specified_long_tail(train_pool_labels):
    counts = train_pool_labels.sum(0)
    for name, count in zip(CLASS_NAMES, counts, strict=True):
        if name in HEAD:
            assert count >= 100, name
        elif name in TAIL:
            assert count < 20, name
        else:
            assert 20 <= count < 100, name
    # Head and tail classes among base and new alike.
    for half in (CLASS_NAMES[:14], CLASS_NAMES[14:]):
        assert HEAD & set(half) and TAIL & set(half)
        assert set(half) - HEAD - TAIL
    assert counts.max() / max(counts.min(), 1) > 50


def test_another_seed_keeps_the_tiers():
    counts = sample_labels(1, 'train', DEFAULT_TRAIN_POOL).sum(0)
    head = {n for n, c in zip(CLASS_NAMES, counts, strict=True) if c >= 100}
    tail = {n for n, c in zip(CLASS_NAMES, counts, strict=True) if c < 20}
    assert head == HEAD and tail == TAIL


def test_group_members_co_occur(train_pool_labels):
    """Group mates meet more often than independence predicts (lift > 1.5
    on average), and more often than classes that share no group."""
    labels = train_pool_labels.astype(bool)
    freq = labels.mean(0)

    def lift(a, b):
        ia, ib = class_index(a), class_index(b)
        return labels[labels[:, ia], ib].mean() / freq[ib]

    def common(a, b):  # both frequent enough to estimate
        return min(labels[:, class_index(n)].sum() for n in (a, b)) >= 20

    mates = {(a, b) for g in GROUPS for a, b in itertools.permutations(g, 2)}
    within = [lift(a, b) for a, b in mates if common(a, b)]
    strangers = [
        lift(a, b) for a, b in itertools.permutations(CLASS_NAMES, 2)
        if (a, b) not in mates and common(a, b)
        and (a, b) not in EXCLUSIVE and (b, a) not in EXCLUSIVE
    ]
    assert len(within) >= 20 and len(strangers) >= 100
    assert np.mean(within) > 1.5
    assert np.mean(within) > 1.5 * np.mean(strangers)


def test_exclusive_pairs_never_co_occur(train_pool_labels):
    labels = train_pool_labels.astype(bool)
    freq = labels.mean(0)
    for a, b in EXCLUSIVE:
        ia, ib = class_index(a), class_index(b)
        assert not (labels[:, ia] & labels[:, ib]).any(), (a, b)
        # Independent classes with these frequencies would meet often.
        assert freq[ia] * freq[ib] * len(labels) > 5, (a, b)


def test_one_to_four_objects_with_the_specified_frequencies(
        train_pool_labels):
    num = train_pool_labels.sum(1)
    assert num.min() == 1 and num.max() == 4
    share = np.bincount(num, minlength=5)[1:] / len(num)
    np.testing.assert_allclose(share, [0.4, 0.3, 0.2, 0.1], atol=0.03)


def test_pretraining_corpus_covers_rare_classes_better():
    train = sample_labels(0, 'train', 2000).mean(0)
    pretrain = sample_labels(0, 'pretrain', 2000).mean(0)
    tail = [class_index(n) for n in TAIL]
    assert pretrain[tail].mean() > 3 * train[tail].mean()


# --------------------------------------------------------------------- #
# determinism and rendering                                             #
# --------------------------------------------------------------------- #
def test_images_are_a_pure_function_of_seed_split_and_index(tmp_path):
    small = ToyWorld(num_images=6, split_dir=str(tmp_path))
    large = ToyWorld(num_images=12, split_dir=str(tmp_path))
    imgs, labels = images_and_labels(small)
    imgs2, labels2 = images_and_labels(large)
    assert imgs.shape == (6, 64, 64, 3) and imgs.dtype == np.uint8
    assert np.array_equal(imgs, imgs2[:6])
    assert np.array_equal(labels, labels2[:6])
    again, _ = scene_image(0, 'train', 3)
    assert np.array_equal(again, imgs[3])
    for other in (scene_image(1, 'train', 3)[0],
                  scene_image(0, 'test', 3)[0],
                  scene_image(0, 'train', 4)[0]):
        assert not np.array_equal(other, imgs[3])
    # The labels are those of the label-only path.
    assert np.array_equal(labels2, sample_labels(0, 'train', 12))


def test_image_size_scales_the_drawing():
    img, objects = scene_image(0, 'val', 0, size=96)
    assert img.shape == (96, 96, 3)
    assert objects == scene_image(0, 'val', 0)[1]


def colour_pixels(img, rgb, tol=45):
    """Pixels within ``tol`` of a colour (max over channels)."""
    diff = np.abs(img.astype(int) - np.array(rgb)).max(-1)
    return int((diff <= tol).sum())


def test_objects_are_drawn_in_their_colour():
    seen = 0
    for index in range(80):
        img, objects = scene_image(0, 'test', index)
        present = {CLASS_NAMES[o].split(' ')[0] for o in objects}
        for colour, rgb in RGB.items():
            area = colour_pixels(img, rgb)
            if colour in present:
                assert area >= 20, (index, colour)
            else:
                assert area <= 3, (index, colour)
        seen += len(objects)
    assert seen > 120


def test_bad_arguments_name_the_argument(tmp_path):
    with pytest.raises(ValueError, match='split'):
        ToyWorld(split='holdout', split_dir=str(tmp_path))
    with pytest.raises(ValueError, match='num_images'):
        ToyWorld(num_images=0, split_dir=str(tmp_path))
    with pytest.raises(ValueError, match='image_size'):
        ToyWorld(num_images=2, image_size=16, split_dir=str(tmp_path))
    with pytest.raises(ValueError, match='data_seed'):
        scene_rng(-1, 'train', 0)


# --------------------------------------------------------------------- #
# captions                                                              #
# --------------------------------------------------------------------- #
PHRASE = re.compile(r'\ban? ({}) ({})\b'.format(
    '|'.join(w for ws in COLOUR_WORDS.values() for w in ws),
    '|'.join(w for ws in SHAPE_WORDS.values() for w in ws)))


def test_captions_name_every_object_with_a_synonym_at_most():
    templates, canonical, words = set(), 0, 0
    for index in range(300):
        objects = sample_objects(scene_rng(0, 'pretrain', index), 'pretrain')
        rng = scene_rng(0, 'pretrain', index, 'caption')
        text = caption(objects, rng)
        assert text == caption(objects,
                               scene_rng(0, 'pretrain', index, 'caption'))
        mentioned = PHRASE.findall(text)
        expected = sorted(CLASS_NAMES[o].split(' ') for o in objects)
        assert len(mentioned) == len(objects), text
        for colour_word, shape_word in mentioned:
            match = [(c, s) for c, s in expected
                     if colour_word in COLOUR_WORDS[c]
                     and shape_word in SHAPE_WORDS[s]]
            assert match, (text, colour_word, shape_word)
            expected.remove(list(match[0]))
            canonical += (colour_word in COLOURS) + (shape_word in SHAPES)
            words += 2
        templates.add(PHRASE.sub('X', text).replace('X, ', '').replace(
            'X and X', 'X'))
    assert len(templates) >= 5  # several phrasings
    assert 0.6 < canonical / words < 0.95  # synonyms, but not mostly


def test_longest_captions_fit_the_context():
    import open_clip
    tokenizer = open_clip.get_tokenizer(register_toyclip())
    assert tokenizer.context_length == 32
    worst = ('there is a scarlet sphere, a turquoise crate, a violet '
             'hoop and a golden star in this picture.')
    texts = [worst] + [
        caption([0, 5, 20, 27], np.random.default_rng(seed))
        for seed in range(100)
    ]
    ids = tokenizer(texts)
    assert (ids == 49407).sum(1).eq(1).all()  # no caption is truncated
    assert int((ids[0] > 0).sum()) <= 32


# --------------------------------------------------------------------- #
# dataset                                                               #
# --------------------------------------------------------------------- #
def test_test_split_through_the_registry_has_full_metainfo(tmp_path):
    ds = DATASETS.build(
        dict(
            type='ToyWorld',
            split='test',
            num_images=40,
            class_split='all',
            test_mode=True,
            split_dir=str(tmp_path)))
    meta = ds.metainfo
    assert list(meta['classes']) == list(CLASS_NAMES)
    groups = meta['groups']
    assert groups['base'] == list(range(14))
    assert groups['new'] == list(range(14, 28))
    assert {CLASS_NAMES[i] for i in groups['head']} == HEAD
    assert {CLASS_NAMES[i] for i in groups['tail']} == TAIL
    assert len(groups['medium']) == 28 - len(HEAD) - len(TAIL)
    imgs, labels = images_and_labels(ds)
    assert imgs.shape == (40, 64, 64, 3) and labels.shape == (40, 28)
    assert np.array_equal(labels, sample_labels(0, 'test', 40))


def test_few_shot_base_training_set(tmp_path):
    ds = DATASETS.build(
        dict(
            type='ToyWorld',
            split='train',
            num_images=300,
            class_split='base',
            num_shots=2,
            seed=1,
            split_dir=str(tmp_path)))
    _, labels = images_and_labels(ds)
    assert labels.shape[1] == 14
    pool = sample_labels(0, 'train', 300)[:, :14]
    expected = np.minimum(pool.sum(0), 2)
    assert ((labels == 1).sum(0) >= expected).all()
    files = os.listdir(tmp_path)
    assert files == ['ToyWorld_v1-train300-seed0_base-mask_2shot_seed1.json']


# --------------------------------------------------------------------- #
# the tiny CLIP                                                         #
# --------------------------------------------------------------------- #
@pytest.fixture(scope='module')
def toyclip():
    """ToyCLIP through the backbone, as the demo configs build it."""
    from mmccr.models.backbones.clip import CLIPBackbone
    return CLIPBackbone(model_name='ToyCLIP', config_file=TOYCLIP_CONFIG,
                        pretrained=TOYCLIP_WEIGHTS)


def test_checkpoint_is_small_float16_safetensors():
    assert os.path.getsize(TOYCLIP_WEIGHTS) <= 10 * 2**20
    with safe_open(TOYCLIP_WEIGHTS, framework='pt') as f:
        assert f.metadata()['model'] == 'ToyCLIP'
        dtypes = {f.get_slice(k).get_dtype() for k in f.keys()}
    assert dtypes == {'F16'}


def test_checkpoint_loads_through_the_backbone(toyclip):
    with safe_open(TOYCLIP_WEIGHTS, framework='pt') as f:
        stored = {k: f.get_tensor(k) for k in f.keys()}
    weights = toyclip.clip.state_dict()
    assert set(weights) == set(stored)
    for key, value in stored.items():
        assert weights[key].dtype == torch.float32, key
        assert torch.equal(weights[key], value.float()), key
    assert toyclip.tokenize(['a photo of a red ball.']).shape == (1, 32)


def test_config_file_must_match_the_model_name():
    from mmccr.models.backbones.clip import CLIPBackbone
    with pytest.raises(ValueError, match='file stem'):
        CLIPBackbone(model_name='TinyCLIP', config_file=TOYCLIP_CONFIG,
                     pretrained=None)
    with pytest.raises(FileNotFoundError, match='missing.json'):
        CLIPBackbone(model_name='missing', config_file='missing.json',
                     pretrained=None)


def test_zero_shot_map_is_far_above_chance(toyclip):
    """Zero-shot mAP through the toy pipeline's resize and CLIP's
    normalisation, on 300 test images, against the documented floor."""
    images, labels = [], []
    for index in range(300):
        img, objects = scene_image(0, 'test', index)
        images.append(img.transpose(2, 0, 1))
        labels.append(np.isin(np.arange(28), objects).astype(int))
    x = Resize(32, 'bilinear').transform(
        dict(img=torch.from_numpy(np.stack(images))))['img'].float() / 255
    mean = torch.tensor([0.48145466, 0.4578275, 0.40821073])[:, None, None]
    std = torch.tensor([0.26862954, 0.26130258, 0.27577711])[:, None, None]
    feats = F.normalize(toyclip.encode_image((x - mean) / std), dim=-1)
    text = toyclip.zero_shot_features(list(CLASS_NAMES),
                                           ['a photo of a {}.'])
    logits = (100 * feats @ text.t()).numpy()
    labels = np.stack(labels)
    ap = average_precision(logits, labels)
    present = labels.sum(0) > 0
    chance = labels.mean(0)[present].mean()
    assert chance < 0.12
    assert np.nanmean(ap) >= ZERO_SHOT_FLOOR > 4 * chance
