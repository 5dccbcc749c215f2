"""Few-shot sampling and class splits for multi-label data."""
import math
import random
from typing import Dict, List, Optional, Sequence

import numpy as np

#: Head / medium / tail thresholds on training image counts (DBL rule).
HEAD_MIN, TAIL_MAX = 100, 20


def sample_few_shot(img_ids: Sequence, labels: np.ndarray, num_shots: int,
                    seed: int) -> List[int]:
    """Greedy "at least K" multi-label few-shot sampling.

    The image order is shuffled with ``random.Random(seed)``; walking the
    shuffled list, an image is taken if any of its positive classes still
    has fewer than ``num_shots`` taken images, and then counts for all its
    positive classes. Images without any positive are never taken. A class
    with fewer than K images ends with all of them; frequent co-occurring
    classes end with more than K.

    Args:
        img_ids (Sequence): image ids, one per row of ``labels``. They set the
            order before shuffling (sorted), so the result does not depend on
            how the annotation file lists the images.
        labels (np.ndarray): labels ``(N, C)``; 1 marks a positive.
        num_shots (int): K.
        seed (int): seed of the shuffle.

    Returns:
        list[int]: row indices of the chosen images, in sampling order.
    """
    if num_shots < 1:
        raise ValueError(f'num_shots must be >= 1, got {num_shots}')
    order = sorted(range(len(img_ids)), key=lambda i: str(img_ids[i]))
    random.Random(seed).shuffle(order)
    counts = np.zeros(labels.shape[1], dtype=np.int64)
    chosen = []
    positive = labels == 1
    for row in order:
        pos = positive[row]
        if pos.any() and (counts[pos] < num_shots).any():
            chosen.append(row)
            counts += pos
    return chosen


def base_new_split(num_classes: int,
                   base: Optional[Sequence[int]] = None
                   ) -> Dict[str, List[int]]:
    """Base and new class indices, each in canonical order.

    Args:
        num_classes (int): C.
        base (Sequence[int], optional): the base class indices. Defaults to
            the first ⌈C/2⌉ classes in canonical order.
    """
    if base is None:
        base = range(math.ceil(num_classes / 2))
    base = sorted(set(base))
    if base and not 0 <= base[0] <= base[-1] < num_classes:
        raise ValueError(f'base class indices must be in 0..{num_classes - 1}'
                         f', got {base}')
    return {
        'base': base,
        'new': sorted(set(range(num_classes)) - set(base))
    }


def frequency_groups(counts: Sequence[int]) -> Dict[str, List[int]]:
    """Head (≥100), medium (20–99) and tail (<20) classes by image count."""
    counts = np.asarray(counts)
    return {
        'head': np.flatnonzero(counts >= HEAD_MIN).tolist(),
        'medium': np.flatnonzero((counts >= TAIL_MAX)
                                 & (counts < HEAD_MIN)).tolist(),
        'tail': np.flatnonzero(counts < TAIL_MAX).tolist(),
    }
