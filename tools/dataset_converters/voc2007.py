"""Prepare PASCAL VOC 2007 for mmccr and check it.

``python tools/dataset_converters/voc2007.py VOCtrainval_06-Nov-2007.tar
VOCtest_06-Nov-2007.tar --out data``

Unpacks the official archives (or takes an unpacked ``VOCdevkit`` with
``--out`` alone) and checks ``data/VOCdevkit/VOC2007``: 5,011 trainval and
4,952 test ids, each with its XML and JPEG. The reader (``VOC2007``) uses
the devkit layout as it is, so nothing is rewritten.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from common import CountMismatch, check_counts, unpack

#: Documented sizes (docs/datasets/voc2007.md).
EXPECTED = {'trainval': 5011, 'test': 4952}


def check(voc_root: str, expected: Optional[dict] = None) -> None:
    """Check image lists, annotations and images under ``VOC2007``."""
    expected = EXPECTED if expected is None else expected
    counts = []
    for split, number in expected.items():
        path = osp.join(voc_root, 'ImageSets', 'Main', f'{split}.txt')
        if not osp.isfile(path):
            raise CountMismatch(f'{path} not found: unpack the {split} '
                                'archive into the same folder.')
        with open(path) as f:
            ids = [line.strip() for line in f if line.strip()]
        xml = sum(osp.isfile(osp.join(voc_root, 'Annotations', f'{i}.xml'))
                  for i in ids)
        jpg = sum(osp.isfile(osp.join(voc_root, 'JPEGImages', f'{i}.jpg'))
                  for i in ids)
        counts += [(f'{split} ids', len(ids), number),
                   (f'{split} annotations', xml, number),
                   (f'{split} images', jpg, number)]
    check_counts('VOC2007', counts, 'docs/datasets/voc2007.md')


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('archives', nargs='*',
                        help='VOCtrainval_06-Nov-2007.tar, VOCtest_...tar')
    parser.add_argument('--out', default='data',
                        help='folder that receives VOCdevkit/ (data)')
    args = parser.parse_args(argv)
    for archive in args.archives:
        print(f'unpacking {archive}')
        unpack(archive, args.out)
    try:
        check(osp.join(args.out, 'VOCdevkit', 'VOC2007'))
    except CountMismatch as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
