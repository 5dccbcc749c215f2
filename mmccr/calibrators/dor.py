"""DOR: Dynamic Outlier Regularization (train-time), multi-label port.

Wang, Li and Wei, "Understanding and Mitigating Miscalibration in Prompt
Tuning for Vision-Language Models", ICML 2025. Prompt tuning moves the text
features of words it never trains on, which makes new classes
over-confident. DOR samples such "outlier" words every iteration and pulls
their tuned text features back to their zero-shot ones, leaving the
training classes free:
``L = L_base + λ · (1 − mean_o cos(t'_o, t_o))``.
"""
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import torch
from mmengine.logging import print_log
from torch import Tensor

from mmccr.losses import text_deviation
from mmccr.registry import CALIBRATORS

from .base import BaseCalibrator

BUILD_HELP = (
    'Build it with `python tools/misc/build_dor_vocab.py --out {path}` '
    '(reads WordNet nouns from /usr/share/wordnet, installed by '
    '`apt-get install wordnet-base`, or from an nltk WordNet corpus).')


def load_vocabulary(path: str) -> List[str]:
    """Read an outlier vocabulary: one word or phrase per line.

    Blank lines and lines starting with ``#`` are skipped; duplicates are
    dropped (first occurrence kept).

    Raises:
        FileNotFoundError: the file is missing (the message says how to
            build it).
        ValueError: the file holds no words.
    """
    path = osp.expanduser(path)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'DOR vocabulary file {path!r} not found. '
            + BUILD_HELP.format(path=path))
    with open(path, encoding='utf-8') as f:
        words = [line.strip() for line in f]
    words = list(dict.fromkeys(w for w in words if w and not w.startswith(
        '#')))
    if not words:
        raise ValueError(f'DOR vocabulary file {path!r} holds no words.')
    return words


def rank_outliers(vocab_features: Tensor, base_features: Tensor,
                  pool_size: int) -> Tensor:
    """Indices of the words most similar to the base classes.

    Words are ranked by their mean cosine similarity to the base classes
    (features are unit norm), highest first.

    Args:
        vocab_features (Tensor): zero-shot word features ``(V, D)``.
        base_features (Tensor): zero-shot base-class features ``(C, D)``.
        pool_size (int): how many to keep (all if fewer words).

    Returns:
        Tensor: word indices ``(min(pool_size, V),)``.
    """
    score = (vocab_features.float() @ base_features.float().t()).mean(1)
    return score.argsort(descending=True, stable=True)[:pool_size]


@CALIBRATORS.register_module()
class DOR(BaseCalibrator):
    """Dynamic Outlier Regularization.

    The outlier pool is the ``pool_size`` vocabulary words with the highest
    mean zero-shot similarity to the training classes, minus the training
    class names themselves (compared case-insensitively); it is built once
    per training class set, on the first training step. Every iteration
    ``num_outliers`` words are drawn from it with the global torch RNG (so
    the config's seed, and resume, control them) and
    ``loss_dor = λ · (1 − mean cos(tuned, zero-shot))`` is added.

    Needs a learner that can encode any name with its prompts
    (``encode_names``), e.g. CoOp with a unified context.

    Args:
        vocab_file (str): the outlier vocabulary (one word per line), see
            ``tools/misc/build_dor_vocab.py``.
        loss_weight (float): λ; the paper uses 8 for CoOp and 2 for other
            learners. Defaults to 8.0.
        pool_size (int): words kept after ranking. Defaults to 5000.
        num_outliers (int): words drawn per iteration. Defaults to 64.
        chunk_size (int): words per text-encoder batch when building the
            pool. Defaults to 1024.
    """

    needs_tuned_features = True

    def __init__(self,
                 vocab_file: str,
                 loss_weight: float = 8.0,
                 pool_size: int = 5000,
                 num_outliers: int = 64,
                 chunk_size: int = 1024) -> None:
        super().__init__()
        for name, value in (('pool_size', pool_size),
                            ('num_outliers', num_outliers),
                            ('chunk_size', chunk_size)):
            if value < 1:
                raise ValueError(f'{name} must be >= 1, got {value}')
        self.vocab_file = vocab_file
        self.vocabulary = load_vocabulary(vocab_file)
        self.loss_weight = loss_weight
        self.pool_size = pool_size
        self.num_outliers = num_outliers
        self.chunk_size = chunk_size
        self._pools: Dict[Tuple[str, ...], Tuple[List[str], Tensor]] = {}

    def pool(self, view) -> Tuple[List[str], Tensor]:
        """The outlier words and their zero-shot features ``(P, D)``.

        Built for ``view.classnames`` (the training classes) and kept; the
        vocabulary's zero-shot features are stored on disk across runs
        (``view.vocabulary_features``).
        """
        key = tuple(view.classnames)
        if key not in self._pools:
            taken = {name.lower() for name in view.classnames}
            words = [w for w in self.vocabulary if w.lower() not in taken]
            if not words:
                raise ValueError(
                    f'DOR vocabulary {self.vocab_file!r} holds only training '
                    'class names; it needs other words.')
            with torch.no_grad():
                feats = view.vocabulary_features(words, self.chunk_size)
                keep = rank_outliers(feats, view.zero_shot_features(),
                                     self.pool_size)
            pool = [words[i] for i in keep.tolist()]
            self._pools[key] = (pool, feats[keep])
            print_log(
                f'DOR: outlier pool of {len(pool)} of {len(words)} words '
                f'for {len(key)} training classes; closest: '
                f'{", ".join(pool[:8])}',
                logger='current')
        return self._pools[key]

    def sample(self, pool: Sequence[str]) -> Tensor:
        """Indices of this iteration's outliers (global torch RNG)."""
        return torch.randperm(len(pool))[:self.num_outliers]

    def loss(self, output, labels: Tensor, view) -> Dict[str, Tensor]:
        """``loss_dor`` on freshly drawn outliers."""
        words, feats = self.pool(view)
        index = self.sample(words)
        tuned = view.tuned_features([words[i] for i in index.tolist()])
        deviation = text_deviation(tuned, feats[index].to(tuned.device))
        return {'loss_dor': self.loss_weight * deviation}
