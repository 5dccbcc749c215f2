"""Generated-image corpora for T2I-PAL: a user folder and the toy world."""
import numpy as np
import pytest
from PIL import Image

from mmccr.datasets import GeneratedImageCaptions, ToyWorldGenerated
from mmccr.datasets.captions import scene_objects
from mmccr.datasets.toyworld import scene_image
from mmccr.datasets.transforms import LoadImage, PackInputs


def folder(tmp_path, name='captions.txt', lines=None):
    (tmp_path / 'images').mkdir()
    for i in range(2):
        Image.new('RGB', (8, 8), (i * 100, 0, 0)).save(
            tmp_path / 'images' / f'{i}.png')
    lines = lines or ['0.png\tA man riding a motorbike.',
                      '1.png\ta sofa\tcouch,dog']
    (tmp_path / name).write_text('\n'.join(lines) + '\n', encoding='utf-8')
    return str(tmp_path)


def test_user_folder_of_generated_images(tmp_path):
    root = folder(tmp_path)
    ds = GeneratedImageCaptions(
        data_root=root, ann_file='captions.txt', classes='coco',
        data_prefix=dict(img_path='images'),
        pipeline=[LoadImage(), PackInputs()], lazy_init=False)
    classes = ds.metainfo['classes']
    labelled = [[classes[c] for c in np.flatnonzero(
        ds.get_data_info(i)['gt_label'])] for i in range(len(ds))]
    assert labelled == [['person', 'motorcycle'], ['dog', 'couch']]
    item = ds[1]
    assert tuple(item['inputs'].shape) == (3, 8, 8)
    assert int(item['inputs'][0, 0, 0]) == 100


def test_generated_list_errors_name_the_line(tmp_path):
    root = folder(tmp_path, lines=['0.png a dog'])
    with pytest.raises(ValueError, match=r'captions.txt:1.*image file<TAB>'):
        GeneratedImageCaptions(data_root=root, ann_file='captions.txt',
                               classes='coco', lazy_init=False)


def test_generated_list_leak_guard(tmp_path):
    root = folder(tmp_path, name='val_generated.txt')
    with pytest.raises(ValueError, match='val_generated.txt'):
        GeneratedImageCaptions(data_root=root, ann_file='val_generated.txt',
                               classes='coco', lazy_init=False)


def test_toy_world_generates_the_captions_objects():
    ds = ToyWorldGenerated(num_captions=40, lazy_init=False)
    again = ToyWorldGenerated(num_captions=40, lazy_init=False)
    for i in range(len(ds)):
        item = ds.get_data_info(i)
        scene = item['scene']
        objects = scene_objects(0, 'train', scene)
        assert sorted(np.flatnonzero(item['gt_label'])) == sorted(objects)
        assert item['img'].shape == (64, 64, 3)
        # a new picture of the same objects, the same on every build
        assert not np.array_equal(item['img'],
                                  scene_image(0, 'train', scene)[0])
        assert np.array_equal(item['img'], again.get_data_info(i)['img'])
