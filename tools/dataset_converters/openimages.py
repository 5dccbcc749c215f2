"""Choose mmccr's Open Images V6 class subset, filter the labels, check.

``python tools/dataset_converters/openimages.py --src oi_downloads
--out data/openimages [--min-positives 100]``

``--src`` holds the official files (download_v6 page):
``oidv6-class-descriptions.csv``, ``oidv6-classes-trainable.txt`` and the
human-verified label csvs ``oidv6-train-...``, ``validation-...`` and
``test-annotations-human-imagelabels.csv``. Writes to ``<out>/annotations``:

* ``classes.csv``: the subset (mmccr's decision; CCR publishes none): the
  trainable classes with at least ``--min-positives`` verified-positive
  images in the train labels *and* in the test labels, in MID order;
* the three label csvs restricted to those classes (same names and header,
  so the reader's defaults find them).

Checks the documented sizes of the official files: 125,436 test and 41,620
validation images. Images go to ``<out>/{train,validation,test}/<ImageID>.jpg``
(download them with the official downloader; missing ones are dropped and
counted by the reader).
"""
import argparse
import csv
import os
import os.path as osp
import sys
from collections import Counter
from typing import Dict, List, Optional, Set

from common import CountMismatch, check_counts

from mmccr.datasets.openimages import ANN_FILES

#: Documented sizes (docs/datasets/openimages.md): images per label file.
EXPECTED = {'validation': 41620, 'test': 125436}


def positives(path: str) -> Counter:
    """Verified-positive images per MID in a label csv."""
    counts: Counter = Counter()
    with open(path, newline='', encoding='utf-8') as f:
        for row in csv.DictReader(f):
            if row['Confidence'] == '1':
                counts[row['LabelName']] += 1
    return counts


def choose_classes(src: str, min_positives: int) -> List[str]:
    """Trainable MIDs with enough verified positives in train and test."""
    with open(osp.join(src, 'oidv6-classes-trainable.txt')) as f:
        trainable = [line.strip() for line in f if line.strip()]
    train = positives(osp.join(src, ANN_FILES['train']))
    test = positives(osp.join(src, ANN_FILES['test']))
    return sorted(m for m in trainable
                  if train[m] >= min_positives and test[m] >= min_positives)


def filter_labels(src: str, dest: str, keep: Set[str]) -> int:
    """Copy the rows of ``keep``'s classes; return the images in ``src``."""
    images = set()
    tmp = dest + '.tmp'
    with open(src, newline='', encoding='utf-8') as fin, \
            open(tmp, 'w', newline='', encoding='utf-8') as fout:
        reader, writer = csv.reader(fin), csv.writer(fout)
        writer.writerow(next(reader))
        for row in reader:
            images.add(row[0])
            if row[2] in keep:
                writer.writerow(row)
    os.replace(tmp, dest)
    return len(images)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--src', required=True)
    parser.add_argument('--out', default='data/openimages')
    parser.add_argument('--min-positives', type=int, default=100)
    args = parser.parse_args(argv)
    mids = choose_classes(args.src, args.min_positives)
    names: Dict[str, str] = {}
    with open(osp.join(args.src, 'oidv6-class-descriptions.csv'),
              newline='', encoding='utf-8') as f:
        for row in csv.reader(f):
            if len(row) == 2:
                names[row[0]] = row[1]
    ann = osp.join(args.out, 'annotations')
    os.makedirs(ann, exist_ok=True)
    with open(osp.join(ann, 'classes.csv'), 'w', newline='',
              encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(['LabelName', 'DisplayName'])
        shown = [names.get(m, m) for m in mids]
        # Display names must be unique class names; a repeat gets its MID.
        writer.writerows(
            [m, n if shown.count(n) == 1 else f'{n} ({m})']
            for m, n in zip(mids, shown, strict=True))
    print(f'{len(mids)} classes with >= {args.min_positives} verified '
          'positives in train and test')
    sizes = {split: filter_labels(osp.join(args.src, name),
                                  osp.join(ann, name), set(mids))
             for split, name in ANN_FILES.items()}
    try:
        check_counts('Open Images V6',
                     [(f'{s} images', sizes[s], n)
                      for s, n in EXPECTED.items()],
                     'docs/datasets/openimages.md')
    except CountMismatch as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
