"""Tests of ``tools/dataset_converters``: each converter's count check
passes on a complete fixture (with the fixture's own expected numbers) and
fails with a message naming what differs; the Open Images converter's class
choice and label filtering are checked by hand.
"""
import csv
import os.path as osp
import pickle
import sys

import numpy as np
import pytest
from test_datasets_nuswide_oi import write_nus
from test_datasets_voc import OBJECTS, write_voc

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'tools', 'dataset_converters'))
import common  # noqa: E402
import longtail  # noqa: E402
import nuswide  # noqa: E402
import openimages  # noqa: E402
import voc2007  # noqa: E402


def test_check_counts_reports_each_mismatch(capsys):
    common.check_counts('X', [('a', 3, 3)], 'guide.md')
    with pytest.raises(common.CountMismatch,
                       match=r'b: found 2, expected 5; c: found 1,000, '
                       r'expected 7.*guide\.md'):
        common.check_counts('X', [('a', 1, 1), ('b', 2, 5), ('c', 1000, 7)],
                            'guide.md')
    assert 'BAD b: 2 (expected 5)' in capsys.readouterr().out


def test_voc2007_check(tmp_path):
    root = write_voc(tmp_path / 'VOC2007')
    (root / 'JPEGImages').mkdir()
    for i in OBJECTS:
        (root / 'JPEGImages' / f'{i}.jpg').write_bytes(b'')
    voc2007.check(str(root), {'trainval': 4})
    (root / 'JPEGImages' / '000002.jpg').unlink()
    with pytest.raises(common.CountMismatch,
                       match='trainval images: found 3, expected 4'):
        voc2007.check(str(root), {'trainval': 4})
    # The documented numbers: a 4-image fixture is not VOC2007, and the
    # missing test list is named.
    with pytest.raises(common.CountMismatch, match=r'test\.txt not found'):
        voc2007.check(str(root))


def test_voc2007_main_returns_1_on_mismatch(tmp_path, capsys):
    write_voc(tmp_path / 'VOCdevkit' / 'VOC2007')
    write_voc(tmp_path / 'VOCdevkit' / 'VOC2007', split='test')
    assert voc2007.main(['--out', str(tmp_path)]) == 1
    assert 'expected 5,011' in capsys.readouterr().err


def test_nuswide_check(tmp_path):
    root = write_nus(tmp_path / 'nus')
    write_nus(root, {r'sky\9.jpg': ['sky']}, part='Test', images=False)
    present = nuswide.check(str(root), {'Train': 3, 'Test': 1})
    assert present == {'Train': 3, 'Test': 0}
    short = root / 'Groundtruth' / 'TrainTestLabels' / 'Labels_cat_Test.txt'
    short.write_text('')
    with pytest.raises(common.CountMismatch,
                       match='Test label files with one line per entry: '
                       'found 80, expected 81'):
        nuswide.check(str(root), {'Train': 3, 'Test': 1})
    with pytest.raises(common.CountMismatch, match='expected 161,789'):
        nuswide.check(str(root))


def test_longtail_places_and_checks_dbl_files(tmp_path):
    dbl = tmp_path / 'appendix' / 'VOCdevkit' / 'longtail2012'
    dbl.mkdir(parents=True)
    (dbl / 'img_id.txt').write_text('2008_a\n2008_b\n')
    freq = np.array([150] + [30] * 2 + [5] * 17)  # 1 head, 2 medium, 17 tail
    with open(dbl / 'class_freq.pkl', 'wb') as f:
        pickle.dump({'class_freq': freq}, f, protocol=2)
    split = {'head': {0}, 'middle': {1, 2}, 'tail': set(range(3, 20))}
    with open(dbl / 'class_split.pkl', 'wb') as f:
        pickle.dump(split, f, protocol=2)
    voc = tmp_path / 'VOCdevkit'
    assert longtail.main(['--dbl', str(tmp_path / 'appendix'), '--voc',
                          str(voc)]) == 1  # 2 ids, not 1,142
    assert (voc / 'longtail2012' / 'img_id.txt').is_file()
    longtail.check('VOC-LT', str(voc / 'longtail2012'), (2, (1, 2, 17)))
    # A split that does not follow the rule is reported.
    freq[1] = 500
    with open(voc / 'longtail2012' / 'class_freq.pkl', 'wb') as f:
        pickle.dump({'class_freq': freq}, f, protocol=2)
    with pytest.raises(common.CountMismatch, match='rule: found 0'):
        longtail.check('VOC-LT', str(voc / 'longtail2012'), (2, (1, 2, 17)))


def write_csv(path, rows, header=('ImageID', 'Source', 'LabelName',
                                  'Confidence')):
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        if header:
            writer.writerow(header)
        writer.writerows(rows)


def test_openimages_converter(tmp_path, monkeypatch):
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'oidv6-classes-trainable.txt').write_text('/m/a\n/m/b\n/m/c\n')
    write_csv(src / 'oidv6-class-descriptions.csv',
              [('/m/a', 'Apple'), ('/m/b', 'Bee'), ('/m/c', 'Bee'),
               ('/m/z', 'Zoo')], header=None)
    # Verified positives: train a 2, b 2, c 2, z 2; test a 2, b 1, c 2.
    train = [(f'i{k}', 'v', m, '1') for m in ('/m/a', '/m/b', '/m/c', '/m/z')
             for k in range(2)] + [('i9', 'v', '/m/a', '0')]
    test = [('t1', 'v', '/m/a', '1'), ('t2', 'v', '/m/a', '1'),
            ('t1', 'v', '/m/b', '1'), ('t3', 'v', '/m/c', '1'),
            ('t4', 'v', '/m/c', '1'), ('t5', 'v', '/m/z', '1')]
    write_csv(src / openimages.ANN_FILES['train'], train)
    write_csv(src / openimages.ANN_FILES['test'], test)
    write_csv(src / openimages.ANN_FILES['validation'],
              [('v1', 'v', '/m/a', '1')])
    out = tmp_path / 'oi'
    monkeypatch.setattr(openimages, 'EXPECTED',
                        {'validation': 1, 'test': 5})
    assert openimages.main(['--src', str(src), '--out', str(out),
                            '--min-positives', '2']) == 0
    # b has 1 test positive and z is not trainable: the subset is a, c.
    with open(out / 'annotations' / 'classes.csv') as f:
        assert list(csv.reader(f)) == [['LabelName', 'DisplayName'],
                                       ['/m/a', 'Apple'], ['/m/c', 'Bee']]
    with open(out / 'annotations' / openimages.ANN_FILES['test']) as f:
        kept = [r[2] for r in csv.reader(f)][1:]
    assert kept == ['/m/a', '/m/a', '/m/c', '/m/c']
    monkeypatch.setattr(openimages, 'EXPECTED', {'test': 125436})
    assert openimages.main(['--src', str(src), '--out', str(out),
                            '--min-positives', '2']) == 1
