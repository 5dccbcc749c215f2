"""Tests of the VOC2007 reader: XML and per-class ImageSets sources, the
"difficult" rule in each mode, prompt names, and bad input.

The fixture is a tiny ``VOCdevkit/VOC2007`` tree written here; expected
labels are worked out by hand below.
"""
import numpy as np
import pytest

from mmccr.datasets import VOC2007, VOC_CLASSES

A, BI, BO, C, P = (VOC_CLASSES.index(n) for n in
                   ('aeroplane', 'bird', 'boat', 'car', 'person'))
# image id -> objects (name, difficult)
OBJECTS = {
    '000001': [('car', 0), ('person', 0), ('person', 1)],
    '000002': [('bird', 1)],  # difficult-only bird
    '000003': [('boat', 1), ('boat', 0), ('aeroplane', 0)],
    '000004': [],
}


def voc_xml(objects):
    body = ''.join(
        f'<object><name>{n}</name><pose>Left</pose>'
        f'<difficult>{d}</difficult><bndbox><xmin>1</xmin><ymin>1</ymin>'
        '<xmax>5</xmax><ymax>5</ymax></bndbox></object>'
        for n, d in objects)
    return f'<annotation><filename>x.jpg</filename>{body}</annotation>'


def write_voc(root, objects=OBJECTS, split='trainval'):
    (root / 'Annotations').mkdir(parents=True, exist_ok=True)
    main = root / 'ImageSets' / 'Main'
    main.mkdir(parents=True, exist_ok=True)
    (main / f'{split}.txt').write_text('\n'.join(objects) + '\n')
    for img, objs in objects.items():
        (root / 'Annotations' / f'{img}.xml').write_text(voc_xml(objs))
    # Per-class files in the devkit's form: 1, -1, or 0 (difficult only),
    # the label right-aligned after the id.
    for name in VOC_CLASSES:
        lines = []
        for img, objs in objects.items():
            flags = [d for n, d in objs if n == name]
            value = 1 if 0 in flags else (0 if flags else -1)
            lines.append(f'{img} {value:2d}')
        (main / f'{name}_{split}.txt').write_text('\n'.join(lines) + '\n')
    return root


def make(root, **kwargs):
    kwargs.setdefault('serialize_data', False)
    kwargs.setdefault('missing_images', 'keep')  # no JPEGs written
    return VOC2007(data_root=str(root), **kwargs)


def expected(difficult_value):
    table = {i: np.zeros(20, np.int8) for i in OBJECTS}
    table['000001'][[C, P]] = 1
    table['000002'][BI] = difficult_value
    table['000003'][[BO, A]] = 1
    return {k: v.tolist() for k, v in table.items()}


def labels(dataset):
    return {dataset.get_data_info(i)['img_id']:
            dataset.get_data_info(i)['gt_label'].tolist()
            for i in range(len(dataset))}


@pytest.mark.parametrize('source', ['xml', 'imagesets'])
@pytest.mark.parametrize('mode,test_mode,value', [
    ('auto', False, 0), ('auto', True, -1), ('negative', True, 0),
    ('ignore', False, -1), ('positive', False, 1)])
def test_difficult_rule(tmp_path, source, mode, test_mode, value):
    ds = make(write_voc(tmp_path / 'VOC2007'), label_source=source,
              difficult=mode, test_mode=test_mode)
    assert labels(ds) == expected(value)


def test_paths_classes_and_prompt_names(tmp_path):
    ds = make(write_voc(tmp_path / 'VOC2007'))
    assert ds.metainfo['classes'] == list(VOC_CLASSES)
    names = ds.metainfo['prompt_names']
    assert names[VOC_CLASSES.index('diningtable')] == 'dining table'
    assert names[VOC_CLASSES.index('tvmonitor')] == 'tv monitor'
    assert names[A] == 'aeroplane'
    info = ds.get_data_info(0)
    assert info['img_path'].endswith('JPEGImages/000001.jpg')
    # Base = first 10 (aeroplane ... cow).
    base = make(write_voc(tmp_path / 'VOC2007'), class_split='base')
    assert base.metainfo['classes'] == list(VOC_CLASSES[:10])


def test_test_split_and_missing_images(tmp_path):
    root = write_voc(tmp_path / 'VOC2007', split='test')
    (root / 'JPEGImages').mkdir()
    (root / 'JPEGImages' / '000003.jpg').write_bytes(b'')
    ds = make(root, split='test', missing_images='drop', test_mode=True)
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == \
        ['000003']


@pytest.mark.parametrize('breakage,error,pattern', [
    ('bad_xml', ValueError, r'000002\.xml is not valid XML'),
    ('bad_name', ValueError, r"000002\.xml.*'plane'"),
    ('missing_xml', FileNotFoundError, r'000004\.xml'),
    ('dup_id', ValueError, r'trainval\.txt:5.*repeats line 1'),
    ('no_list', FileNotFoundError, r'trainval\.txt'),
    ('bad_flag', ValueError, r"000002\.xml.*difficult.*'yes'"),
])
def test_xml_bad_input(tmp_path, breakage, error, pattern):
    root = write_voc(tmp_path / 'VOC2007')
    ann = root / 'Annotations'
    main = root / 'ImageSets' / 'Main'
    if breakage == 'bad_xml':
        (ann / '000002.xml').write_text('<annotation><object>')
    elif breakage == 'bad_name':
        (ann / '000002.xml').write_text(voc_xml([('plane', 0)]))
    elif breakage == 'missing_xml':
        (ann / '000004.xml').unlink()
    elif breakage == 'dup_id':
        (main / 'trainval.txt').write_text('\n'.join([*OBJECTS, '000001']))
    elif breakage == 'no_list':
        (main / 'trainval.txt').unlink()
    elif breakage == 'bad_flag':
        (ann / '000002.xml').write_text(
            voc_xml([('bird', 0)]).replace('<difficult>0', '<difficult>yes'))
    with pytest.raises(error, match=pattern):
        make(root)


@pytest.mark.parametrize('line,pattern', [
    ('000001  2', r'bird_trainval\.txt:1: expected'),
    ('000009  1', r"bird_trainval\.txt:1: image '000009' is not in"),
])
def test_imagesets_bad_lines(tmp_path, line, pattern):
    root = write_voc(tmp_path / 'VOC2007')
    path = root / 'ImageSets' / 'Main' / 'bird_trainval.txt'
    rest = path.read_text().splitlines()[1:]
    path.write_text('\n'.join([line, *rest]) + '\n')
    with pytest.raises(ValueError, match=pattern):
        make(root, label_source='imagesets')


def test_imagesets_missing_row(tmp_path):
    root = write_voc(tmp_path / 'VOC2007')
    path = root / 'ImageSets' / 'Main' / 'cat_trainval.txt'
    path.write_text('\n'.join(path.read_text().splitlines()[:-1]) + '\n')
    with pytest.raises(ValueError, match=r"cat_trainval\.txt.*'000004'"):
        make(root, label_source='imagesets')
