"""Lay out NUS-WIDE for mmccr and check it.

``python tools/dataset_converters/nuswide.py --groundtruth NUS-WIDE/Groundtruth
--image-list ImageList --images Flickr --out data/nuswide [--link]``

Takes the official pieces — ``Groundtruth/`` (from ``NUS-WIDE.zip``, with
``TrainTestLabels/``), the ``ImageList/`` folder (``TrainImagelist.txt``,
``TestImagelist.txt``; Windows paths) and the ``Flickr/`` image folder of
your copy — and copies (or ``--link``-s) them to
``<out>/{Groundtruth,ImageList,Flickr}``. Then checks: 161,789 train and
107,859 test list entries, 81 label files per split with one line per
entry, and how many listed images are present (missing ones are reported,
not an error: every public copy lacks some; the reader drops them).
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from common import CountMismatch, check_counts, count_lines, place

from mmccr.datasets.nuswide import NUSWIDE_CLASSES, normalise_path

#: Documented sizes (docs/datasets/nuswide.md).
EXPECTED = {'Train': 161789, 'Test': 107859}


def check(root: str, expected: Optional[dict] = None) -> dict:
    """Check a laid-out NUS-WIDE; returns present images per split."""
    expected = EXPECTED if expected is None else expected
    counts, present = [], {}
    labels = osp.join(root, 'Groundtruth', 'TrainTestLabels')
    for part, number in expected.items():
        listing = osp.join(root, 'ImageList', f'{part}Imagelist.txt')
        if not osp.isfile(listing):
            raise CountMismatch(f'{listing} not found; pass --image-list.')
        with open(listing, encoding='utf-8', errors='replace') as f:
            paths = [normalise_path(p) for p in f if p.strip()]
        counts.append((f'{part} list entries', len(paths), number))
        files = [osp.join(labels, f'Labels_{c}_{part}.txt')
                 for c in NUSWIDE_CLASSES]
        complete = sum(osp.isfile(p) and count_lines(p) == len(paths)
                       for p in files)
        counts.append((f'{part} label files with one line per entry',
                       complete, len(NUSWIDE_CLASSES)))
        present[part] = sum(osp.isfile(osp.join(root, 'Flickr', p))
                            for p in paths)
        print(f'  {part}: {present[part]:,} of {len(paths):,} listed images '
              'are present (the reader drops the others and says so)')
    check_counts('NUS-WIDE', counts, 'docs/datasets/nuswide.md')
    return present


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--groundtruth', required=True,
                        help='Groundtruth/ of NUS-WIDE.zip')
    parser.add_argument('--image-list', required=True,
                        help='ImageList/ (TrainImagelist.txt, ...)')
    parser.add_argument('--images', required=True, help='Flickr/ folder')
    parser.add_argument('--out', default='data/nuswide')
    parser.add_argument('--link', action='store_true',
                        help='symlink instead of copying')
    args = parser.parse_args(argv)
    for src, name in ((args.groundtruth, 'Groundtruth'),
                      (args.image_list, 'ImageList'),
                      (args.images, 'Flickr')):
        place(src, osp.join(args.out, name), link=args.link)
    try:
        check(args.out)
    except CountMismatch as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
