"""Zero-shot text features of large vocabularies, stored on disk.

DOR ranks thousands of outlier words by their zero-shot features, which
takes the text tower a while on a CPU; the features depend only on the
text tower's weights, the templates and the words, so they are computed
once and kept as an :mod:`mmccr.utils.array_store` store keyed by those
(the same layout and checks as the image feature cache).
"""
import os.path as osp
import time
import weakref
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from torch import Tensor

from mmccr.utils.array_store import (
    cache_root,
    commit_store,
    new_store,
    open_store,
    store_folder,
)
from mmccr.utils.digest import data_sha256, tensors_sha256

_TEXT_WEIGHTS = weakref.WeakKeyDictionary()  # backbone -> digest


def text_weights_sha256(backbone) -> str:
    """SHA-256 of the text tower's weights (everything but ``visual``)."""
    if backbone not in _TEXT_WEIGHTS:
        _TEXT_WEIGHTS[backbone] = tensors_sha256({
            k: v for k, v in backbone.clip.state_dict().items()
            if not k.startswith('visual.')})
    return _TEXT_WEIGHTS[backbone]


def stored_zero_shot_features(backbone,
                              names: Sequence[str],
                              chunk_size: int = 1024,
                              cache_dir: Optional[str] = None) -> Tensor:
    """:meth:`CLIPBackbone.zero_shot_features` of ``names``, kept on disk.

    Read back when the backbone name, text-tower weights, templates and
    names are unchanged; computed in chunks of ``chunk_size`` names and
    stored (by rank 0) otherwise. A damaged store is recomputed with a
    warning.

    Args:
        backbone: the frozen :class:`CLIPBackbone`.
        names (Sequence[str]): the vocabulary.
        chunk_size (int): names per text-encoder pass.
        cache_dir (str, optional): root folder; defaults to
            ``<mmccr cache>/text`` (``$MMCCR_CACHE_DIR``).

    Returns:
        Tensor: unit-norm features ``(N, D)`` on the backbone's device.
    """
    names = list(names)
    key = dict(backbone=backbone.model_name,
               weights_sha256=text_weights_sha256(backbone),
               templates=list(backbone.templates),
               num_names=len(names), names_sha256=data_sha256(names))
    folder = store_folder(cache_dir or osp.join(cache_root(), 'text'),
                          'zeroshot', key)
    device = backbone.token_embedding.weight.device
    arrays, problem = open_store(folder, key)
    if arrays is not None:
        return torch.from_numpy(np.array(arrays['features'])).to(device)
    if problem:
        print_log(f'Text feature store {folder}: {problem}; recomputing.',
                  logger='current', level=30)
    start = time.perf_counter()
    with torch.no_grad():
        feats = torch.cat([
            backbone.zero_shot_features(names[i:i + chunk_size], cache=False)
            for i in range(0, len(names), chunk_size)])  # (N, D)
    seconds = time.perf_counter() - start
    if get_dist_info()[0] == 0:
        tmp = new_store(folder)
        np.save(osp.join(tmp, 'features.npy'), feats.float().cpu().numpy())
        commit_store(tmp, folder, key, dict(build_seconds=round(seconds, 3)))
        print_log(f'Text features of {len(names)} names computed in '
                  f'{seconds:.1f} s and stored in {folder}.',
                  logger='current')
    return feats
