"""Offline caption labelling: which classes does a caption mention?

Text-trained learners (TaI-DPT, TaI++, T2I-PAL) train on captions whose
labels come from the words of the caption. :class:`CaptionLabelMatcher`
finds class mentions without any model or download:

* every class has phrases: its name and its synonyms, each with the plural
  forms of its last word (regular English rules, an irregular table and,
  when the Debian package ``wordnet-base`` is installed, WordNet's noun
  exception list ``noun.exc``);
* captions are split into lower-case words, so a phrase only matches whole
  words ("cat" is not found in "category");
* at each word position the longest phrase wins and its words are used up,
  so "hot dog" labels the class *hot dog*, not *dog*.
"""
import os.path as osp
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

#: Where Debian's ``wordnet-base`` puts WordNet's noun exception list.
WORDNET_NOUN_EXC = '/usr/share/wordnet/noun.exc'

#: Irregular English plurals used by every matcher (singular → plurals).
IRREGULAR_PLURALS: Dict[str, Tuple[str, ...]] = {
    'person': ('people', 'persons'),
    'man': ('men', ),
    'woman': ('women', ),
    'child': ('children', ),
    'mouse': ('mice', 'mouses'),
    'goose': ('geese', ),
    'foot': ('feet', ),
    'tooth': ('teeth', ),
    'sheep': ('sheep', ),
    'fish': ('fish', 'fishes'),
    'deer': ('deer', ),
    'ox': ('oxen', ),
    'cactus': ('cacti', 'cactuses'),
    'bus': ('buses', 'busses'),
    'skis': ('skis', ),
}

_WORD = re.compile(r"[a-z0-9]+")
_SIBILANT = ('s', 'x', 'z', 'ch', 'sh')
_VOWELS = 'aeiou'


def words(text: str) -> List[str]:
    """Lower-case words of ``text`` (runs of letters and digits).

    Punctuation splits words, so a possessive ``"dog's"`` gives ``dog``.
    """
    return _WORD.findall(text.lower())


def plurals(noun: str,
            irregular: Optional[Dict[str, Tuple[str, ...]]] = None
            ) -> Tuple[str, ...]:
    """Plural forms of a singular English noun (one word).

    Irregular forms come first; otherwise the regular rules (``box →
    boxes``, ``puppy → puppies``, ``knife → knives`` and ``knifes``,
    ``cat → cats``).

    Args:
        noun (str): lower-case singular.
        irregular (dict, optional): singular → plurals; defaults to
            :data:`IRREGULAR_PLURALS`.
    """
    table = IRREGULAR_PLURALS if irregular is None else irregular
    if noun in table:
        return tuple(table[noun])
    if noun.endswith(_SIBILANT):
        return (noun + 'es', )
    if noun.endswith('y') and len(noun) > 1 and noun[-2] not in _VOWELS:
        return (noun[:-1] + 'ies', )
    if noun.endswith('fe'):
        return (noun[:-2] + 'ves', noun + 's')
    if noun.endswith('f') and not noun.endswith('ff'):
        return (noun[:-1] + 'ves', noun + 's')
    return (noun + 's', )


def wordnet_plurals(path: str = WORDNET_NOUN_EXC
                    ) -> Dict[str, Tuple[str, ...]]:
    """Irregular plurals from WordNet's ``noun.exc``, if it is installed.

    Each line of ``noun.exc`` is ``<inflected form> <base form> ...``.

    Returns:
        dict: singular → plurals (empty when the file is absent).
    """
    table: Dict[str, List[str]] = {}
    if not osp.isfile(path):
        return {}
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and '_' not in parts[0]:
                table.setdefault(parts[1], []).append(parts[0])
    return {k: tuple(v) for k, v in table.items()}


class CaptionLabelMatcher:
    """Multi-hot labels of captions from class names and synonyms.

    Args:
        classnames (Sequence[str]): the classes, in label order.
        synonyms (dict, optional): class name → further phrases that name
            it (e.g. ``{'couch': ['sofa'], 'person': ['man', 'woman']}``).
            Keys must be class names.
        use_wordnet (bool | str): add WordNet's irregular plurals from
            ``noun.exc``: True (the file must exist), False, or ``'auto'``
            (when installed; the default). Matching never depends on it for
            the plurals of :data:`IRREGULAR_PLURALS` and regular nouns.
    """

    def __init__(self,
                 classnames: Sequence[str],
                 synonyms: Optional[Dict[str, Iterable[str]]] = None,
                 use_wordnet='auto') -> None:
        self.classnames = list(classnames)
        synonyms = dict(synonyms or {})
        unknown = sorted(set(synonyms) - set(self.classnames))
        if unknown:
            raise ValueError(f'synonyms name unknown classes {unknown}; '
                             f'keys must be among {self.classnames}.')
        irregular = dict(IRREGULAR_PLURALS)
        if use_wordnet is True and not osp.isfile(WORDNET_NOUN_EXC):
            raise FileNotFoundError(
                f'use_wordnet=True but {WORDNET_NOUN_EXC} is missing; '
                "install Debian's wordnet-base or use use_wordnet='auto'.")
        if use_wordnet:
            for noun, forms in wordnet_plurals().items():
                irregular.setdefault(noun, forms)
        # phrase (tuple of words) -> class index; a phrase naming two
        # classes is an error.
        self.phrases: Dict[Tuple[str, ...], int] = {}
        for index, name in enumerate(self.classnames):
            for phrase in [name, *synonyms.get(name, ())]:
                for form in self._forms(words(phrase), irregular):
                    other = self.phrases.setdefault(form, index)
                    if other != index:
                        raise ValueError(
                            f'phrase {" ".join(form)!r} names both '
                            f'{self.classnames[other]!r} and {name!r}; '
                            'remove it from one synonym list.')
        self.max_len = max((len(p) for p in self.phrases), default=0)

    @staticmethod
    def _forms(phrase: List[str], irregular) -> List[Tuple[str, ...]]:
        """The phrase and its plurals (last word inflected)."""
        if not phrase:
            return []
        head = tuple(phrase[:-1])
        return [tuple(phrase)] + [head + (p, ) for p in plurals(
            phrase[-1], irregular)]

    def match(self, caption: str) -> List[int]:
        """Indices of the classes ``caption`` mentions, ascending."""
        tokens = words(caption)
        found = set()
        i = 0
        while i < len(tokens):
            for length in range(min(self.max_len, len(tokens) - i), 0, -1):
                index = self.phrases.get(tuple(tokens[i:i + length]))
                if index is not None:
                    found.add(index)
                    i += length
                    break
            else:
                i += 1
        return sorted(found)

    def labels(self, caption: str) -> np.ndarray:
        """Multi-hot ``int8`` labels ``(C,)`` of one caption."""
        labels = np.zeros(len(self.classnames), np.int8)
        labels[self.match(caption)] = 1
        return labels
