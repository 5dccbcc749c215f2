"""Build DOR's outlier vocabulary from WordNet nouns.

``python tools/misc/build_dor_vocab.py [--out data/dor/wordnet_nouns.txt]``

Reads the noun index of WordNet 3.0 from Debian's ``wordnet-base`` package
(``apt-get install wordnet-base`` puts it in ``/usr/share/wordnet``), or,
when that is missing, from an installed nltk WordNet corpus. Writes one
noun per line (``_`` turned into spaces), sorted, in lower case, keeping
only nouns made of letters, spaces, hyphens and apostrophes (no numbers).
"""
import argparse
import os.path as osp
import random
import re
from typing import Iterable, List

from mmccr.utils.io import atomic_write_bytes

_WORD = re.compile(r"^[a-z][a-z' -]*$")


def debian_nouns(wordnet_dir: str) -> List[str]:
    """Lemmas of ``<wordnet_dir>/index.noun``.

    License lines start with spaces; every other line starts with the lemma.
    """
    path = osp.join(wordnet_dir, 'index.noun')
    with open(path, encoding='utf-8') as f:
        return [line.split(' ', 1)[0] for line in f
                if line.strip() and not line.startswith(' ')]


def nltk_nouns() -> List[str]:
    """Noun lemmas of nltk's WordNet corpus (must be installed)."""
    from nltk.corpus import wordnet
    return list(wordnet.all_lemma_names(pos='n'))


def clean(lemmas: Iterable[str]) -> List[str]:
    """Lower-cased, ``_`` → space, letters only, unique and sorted."""
    words = {lemma.replace('_', ' ').lower().strip() for lemma in lemmas}
    return sorted(w for w in words if _WORD.match(w))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/dor/wordnet_nouns.txt',
                        help='vocabulary file to write')
    parser.add_argument('--wordnet-dir', default='/usr/share/wordnet',
                        help="folder with WordNet's index.noun")
    parser.add_argument('--sample', type=int,
                        help='keep a seeded random subset of this many nouns '
                        '(small vocabularies for quick CPU runs)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of --sample (default 0)')
    args = parser.parse_args()
    if osp.isfile(osp.join(args.wordnet_dir, 'index.noun')):
        lemmas, source = debian_nouns(args.wordnet_dir), args.wordnet_dir
    else:
        try:
            lemmas, source = nltk_nouns(), 'nltk wordnet corpus'
        except (ImportError, LookupError) as err:
            raise SystemExit(
                f'No WordNet found: {args.wordnet_dir}/index.noun is missing '
                f'and nltk has no WordNet corpus ({err}). Install it with '
                '`apt-get install wordnet-base` (or pass --wordnet-dir), or '
                "`pip install nltk` and `python -m nltk.downloader wordnet`."
            ) from None
    words = clean(lemmas)
    if args.sample is not None and args.sample < len(words):
        rng = random.Random(args.seed)
        words = sorted(rng.sample(words, args.sample))
        source += f', random sample (seed {args.seed})'
    header = (f'# DOR outlier vocabulary: {len(words)} WordNet 3.0 nouns '
              f'from {source}.\n# WordNet 3.0 Copyright 2006 by Princeton '
              'University. All rights reserved.\n')
    text = header + '\n'.join(words) + '\n'
    atomic_write_bytes(args.out, text.encode('utf-8'))
    print(f'{len(words)} nouns written to {args.out}')


if __name__ == '__main__':
    main()
