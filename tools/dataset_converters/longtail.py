"""Put DBL's COCO-LT / VOC-LT split files in place and check them.

``python tools/dataset_converters/longtail.py
--dbl DistributionBalancedLoss/appendix --coco data/coco
--voc data/VOCdevkit``

``--dbl`` is the ``appendix/`` folder of a clone of
``wutong16/DistributionBalancedLoss`` (``git clone`` it on a machine with
internet). Copies ``coco/longtail2017/`` to ``<coco>/longtail2017/`` and
``VOCdevkit/longtail2012/`` to ``<voc>/longtail2012/`` (the stale
``coco/longtail2017*.pkl`` duplicates beside them are ignored) and checks:
1,909 COCO-LT ids, 1,142 VOC-LT ids, 22 / 33 / 25 and 6 / 6 / 8 head /
medium / tail classes, class frequencies that follow the head / tail rule.
COCO 2017 and VOC 2012 / 2007 themselves are prepared as in their guides.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from common import CountMismatch, check_counts, place

from mmccr.datasets import frequency_groups
from mmccr.datasets.files import read_lines
from mmccr.datasets.longtail import read_dbl_class_freq, read_dbl_class_split

#: name -> (DBL sub-folder, target folder option, id file, classes,
#: documented images, head / medium / tail sizes)
SUBSETS = {
    'COCO-LT': ('coco/longtail2017', 'coco', 'img_id.pkl', 80, 1909,
                (22, 33, 25)),
    'VOC-LT': ('VOCdevkit/longtail2012', 'voc', 'img_id.txt', 20, 1142,
               (6, 6, 8)),
}


def check(name: str, folder: str, expected: Optional[tuple] = None) -> None:
    """Check one placed DBL folder against the documented numbers."""
    _, _, id_file, classes, images, sizes = SUBSETS[name]
    if expected is not None:
        images, sizes = expected
    ids = read_lines(osp.join(folder, id_file), f'{name} id list')
    split = read_dbl_class_split(osp.join(folder, 'class_split.pkl'),
                                 classes)
    freq = read_dbl_class_freq(osp.join(folder, 'class_freq.pkl'), classes)
    rule = frequency_groups(freq) == split
    counts = [('training images', len(ids), images)]
    counts += [(f'{g} classes', len(split[g]), n)
               for g, n in zip(('head', 'medium', 'tail'), sizes, strict=True)]
    counts.append(('groups that follow the >=100 / <20 rule', int(rule), 1))
    check_counts(name, counts, 'docs/datasets/longtail.md')


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--dbl', required=True,
                        help="DBL's appendix/ folder")
    parser.add_argument('--coco', help='COCO root (receives longtail2017/)')
    parser.add_argument('--voc', help='VOCdevkit (receives longtail2012/)')
    args = parser.parse_args(argv)
    status = 0
    for name, (sub, option, *_) in SUBSETS.items():
        target = getattr(args, option)
        if not target:
            continue
        dest = osp.join(target, osp.basename(sub))
        place(osp.join(args.dbl, sub), dest)
        try:
            check(name, dest)
        except CountMismatch as err:
            print(err, file=sys.stderr)
            status = 1
    return status


if __name__ == '__main__':
    sys.exit(main())
