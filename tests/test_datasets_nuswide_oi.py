"""Tests of the NUS-WIDE and Open Images V6 readers on fixtures in their
official formats: Windows-path image lists and per-concept 0/1 files; a
human-verified labels csv with a class-description table.
"""
import numpy as np
import pytest

from mmccr.datasets import NUSWIDE, NUSWIDE_CLASSES, OpenImagesV6
from mmccr.datasets.nuswide import normalise_path

# ---------------------------------------------------------------- NUS-WIDE
# image list entries (Windows paths) -> positive concepts
NUS_TRAIN = {
    r'C:\ImageData\Flickr\actor\0001_1.jpg': ['person', 'sky'],
    r'actor\0002_2.jpg': [],
    r'zebra\0003_3.jpg': ['zebra', 'animal', 'grass'],
}


def write_nus(root, table=NUS_TRAIN, part='Train', images=True):
    (root / 'ImageList').mkdir(parents=True, exist_ok=True)
    (root / 'ImageList' / f'{part}Imagelist.txt').write_text(
        '\r\n'.join(table) + '\r\n')  # CRLF, as distributed
    labels = root / 'Groundtruth' / 'TrainTestLabels'
    labels.mkdir(parents=True, exist_ok=True)
    for c in NUSWIDE_CLASSES:
        (labels / f'Labels_{c}_{part}.txt').write_text(''.join(
            f'{int(c in pos)}\n' for pos in table.values()))
    if images:
        for path in table:
            img = root / 'Flickr' / normalise_path(path)
            img.parent.mkdir(parents=True, exist_ok=True)
            img.write_bytes(b'')
    return root


def make_nus(root, **kwargs):
    kwargs.setdefault('serialize_data', False)
    return NUSWIDE(data_root=str(root), **kwargs)


def positives(ds, classes):
    return {ds.get_data_info(i)['img_id']:
            sorted(classes[c] for c in
                   np.flatnonzero(ds.get_data_info(i)['gt_label'] == 1))
            for i in range(len(ds))}


def test_normalise_windows_paths():
    assert normalise_path(r'C:\ImageData\Flickr\actor\0001_1.jpg') == \
        'actor/0001_1.jpg'
    assert normalise_path('actor\\0002_2.jpg ') == 'actor/0002_2.jpg'
    assert normalise_path('Flickr/a/b.jpg') == 'a/b.jpg'


def test_nuswide_labels_and_paths(tmp_path):
    ds = make_nus(write_nus(tmp_path / 'nus'))
    assert positives(ds, NUSWIDE_CLASSES) == {
        'actor/0001_1.jpg': ['person', 'sky'],
        'actor/0002_2.jpg': [],  # kept: empty_images='keep'
        'zebra/0003_3.jpg': ['animal', 'grass', 'zebra'],
    }
    assert ds.get_data_info(2)['img_path'].endswith(
        'Flickr/zebra/0003_3.jpg')
    # 81 concepts: 41 base (airport ... nighttime).
    base = make_nus(tmp_path / 'nus', class_split='base')
    assert len(base.metainfo['classes']) == 41
    assert base.metainfo['classes'][-1] == 'nighttime'


def test_nuswide_empty_and_missing_images(tmp_path):
    root = write_nus(tmp_path / 'nus')
    (root / 'Flickr' / 'zebra' / '0003_3.jpg').unlink()
    ds = make_nus(root, empty_images='drop')
    # The empty image is dropped by option, the missing one by default.
    assert list(positives(ds, NUSWIDE_CLASSES)) == ['actor/0001_1.jpg']
    with pytest.raises(FileNotFoundError, match=r'1 of 3.*0003_3'):
        make_nus(root, missing_images='error')


def test_nuswide_test_split(tmp_path):
    root = write_nus(tmp_path / 'nus', {r'sky\9.jpg': ['sky']}, part='Test')
    ds = make_nus(root, split='test', test_mode=True)
    assert positives(ds, NUSWIDE_CLASSES) == {'sky/9.jpg': ['sky']}


@pytest.mark.parametrize('breakage,error,pattern', [
    ('short', ValueError, r'Labels_sky_Train\.txt has 2 lines .* 3 images'),
    ('value', ValueError, r"Labels_sky_Train\.txt:2: expected 0 or 1.*'2'"),
    ('absent', FileNotFoundError, r'Labels_sky_Train\.txt'),
    ('dup', ValueError, r'TrainImagelist\.txt:4.*repeats line 2'),
])
def test_nuswide_bad_input(tmp_path, breakage, error, pattern):
    root = write_nus(tmp_path / 'nus')
    sky = root / 'Groundtruth' / 'TrainTestLabels' / 'Labels_sky_Train.txt'
    if breakage == 'short':
        sky.write_text('1\n0\n')
    elif breakage == 'value':
        sky.write_text('1\n2\n0\n')
    elif breakage == 'absent':
        sky.unlink()
    elif breakage == 'dup':
        lst = root / 'ImageList' / 'TrainImagelist.txt'
        lst.write_text(lst.read_text() + 'actor\\0002_2.jpg\n')
    with pytest.raises(error, match=pattern):
        make_nus(root)


# ------------------------------------------------------------ Open Images
OI_CLASSES = 'LabelName,DisplayName\n/m/01g317,Person\n/m/0k4j,Car\n' \
    '/m/01yrx,Cat\n'
OI_ROWS = [
    ('aaa', 'verification', '/m/01g317', '1'),
    ('aaa', 'verification', '/m/01yrx', '0'),
    ('bbb', 'crowdsource-verification', '/m/0k4j', '1'),
    ('bbb', 'verification', '/m/0k4j', '0'),  # conflict: present wins
    ('ccc', 'verification', '/m/09xyz', '1'),  # class outside the subset
    ('ddd', 'verification', '/m/01yrx', '0'),
]


def write_oi(root, rows=OI_ROWS, split='test'):
    ann = root / 'annotations'
    ann.mkdir(parents=True, exist_ok=True)
    (ann / 'classes.csv').write_text(OI_CLASSES)
    name = {'test': 'test-annotations-human-imagelabels.csv',
            'train': 'oidv6-train-annotations-human-imagelabels.csv'}[split]
    (ann / name).write_text('ImageID,Source,LabelName,Confidence\n' +
                            ''.join(','.join(r) + '\n' for r in rows))
    return root


def make_oi(root, **kwargs):
    kwargs.setdefault('serialize_data', False)
    kwargs.setdefault('missing_images', 'keep')
    kwargs.setdefault('split', 'test')
    return OpenImagesV6(data_root=str(root), **kwargs)


def test_openimages_verified_labels(tmp_path):
    ds = make_oi(write_oi(tmp_path / 'oi'), test_mode=True)
    assert ds.metainfo['classes'] == ['Person', 'Car', 'Cat']
    got = {ds.get_data_info(i)['img_id']:
           ds.get_data_info(i)['gt_label'].tolist() for i in range(len(ds))}
    # Unverified = -1; 'ccc' has no verified label in the subset.
    assert got == {'aaa': [1, -1, 0], 'bbb': [-1, 1, -1],
                   'ddd': [-1, -1, 0]}
    assert ds.get_data_info(0)['img_path'].endswith('test/aaa.jpg')


def test_openimages_few_shot_counts_only_verified_positives(tmp_path):
    root = write_oi(tmp_path / 'oi', split='train')
    ds = make_oi(root, split='train', num_shots=1,
                 split_dir=str(tmp_path / 's'))
    # Person only in aaa, Car only in bbb: both needed; ddd has no positive.
    assert sorted(ds.get_data_info(i)['img_id'] for i in range(len(ds))) \
        == ['aaa', 'bbb']


@pytest.mark.parametrize('breakage,pattern', [
    ('header', r'human-imagelabels\.csv:1: expected the header'),
    ('confidence', r'human-imagelabels\.csv:3: expected .*0\.5'),
    ('columns', r'human-imagelabels\.csv:2: expected'),
    ('class_row', r'classes\.csv:2: expected "MID,Display name"'),
    ('dup_name', r"classes\.csv: display name\(s\) \['Car'\]"),
])
def test_openimages_bad_input(tmp_path, breakage, pattern):
    root = write_oi(tmp_path / 'oi')
    csv = root / 'annotations' / 'test-annotations-human-imagelabels.csv'
    lines = csv.read_text().splitlines()
    if breakage == 'header':
        lines[0] = 'ImageID,LabelName,Confidence'
    elif breakage == 'confidence':
        lines[2] = 'aaa,verification,/m/0k4j,0.5'
    elif breakage == 'columns':
        lines[1] = 'aaa,/m/0k4j,1'
    elif breakage == 'class_row':
        (root / 'annotations' / 'classes.csv').write_text(
            'LabelName,DisplayName\nPerson\n')
    elif breakage == 'dup_name':
        (root / 'annotations' / 'classes.csv').write_text(
            '/m/0k4j,Car\n/m/01yrx,Car\n')
    csv.write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=pattern):
        make_oi(root)
    with pytest.raises(ValueError, match='split must be'):
        make_oi(root, split='val')
