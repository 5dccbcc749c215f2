"""One pass of a model over a dataset, shared across ranks.

The hooks that need model outputs outside the runner's loops (held-out
logits for fitting calibrators, reference features for PIECE) use this one
function: it builds the loader, puts the model in eval mode, shards the
images over the ranks and gathers the outputs back in dataset order, so
every rank holds the same result as a single process would.
"""
from collections import defaultdict
from typing import Callable, Dict, Iterator, Tuple

import torch
from mmengine.dataset import default_collate
from mmengine.dist import all_gather_object, get_dist_info
from torch import Tensor
from torch.utils.data import DataLoader, Subset

#: ``step(data) -> {name: (B, ...) tensor}`` on a pre-processed batch.
Step = Callable[[dict], Dict[str, Tensor]]


def shard_batches(model, dataset, batch_size: int = 64
                  ) -> Iterator[Tuple[Tensor, dict]]:
    """This rank's share of ``dataset``, pre-processed, in eval mode.

    Rank ``r`` of ``W`` processes items ``r, r + W, …``. The model is in
    eval mode while the batches are consumed and back in its former mode
    afterwards.

    Args:
        model: the (unwrapped) classifier; its ``data_preprocessor``
            prepares each batch.
        dataset: any dataset giving mmengine-style items.
        batch_size (int): Defaults to 64.

    Yields:
        tuple: the batch's dataset indices ``(B,)`` and the pre-processed
        batch (``inputs``, ``data_samples``).
    """
    rank, world = get_dist_info()
    indices = range(rank, len(dataset), world)
    loader = DataLoader(Subset(dataset, indices), batch_size=batch_size,
                        collate_fn=default_collate)
    was_training = model.training
    model.eval()
    start = 0
    try:
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            size = data['inputs'].shape[0]
            yield torch.tensor(indices[start:start + size]), data
            start += size
    finally:
        model.train(was_training)


@torch.no_grad()
def dataset_pass(model, dataset, step: Step,
                 batch_size: int = 64) -> Dict[str, Tensor]:
    """Run ``step`` on every batch of ``dataset`` and concatenate.

    Each rank runs its shard (:func:`shard_batches`); the outputs of all
    ranks are gathered and interleaved back, so the result is in dataset
    order and identical on every rank.

    Args:
        model: the (unwrapped) classifier; its ``data_preprocessor``
            prepares each batch.
        dataset: any dataset giving mmengine-style items.
        step (Callable): ``step(data)`` with ``data`` the pre-processed
            batch (``inputs``, ``data_samples``); returns named tensors
            with the batch as first dimension.
        batch_size (int): Defaults to 64.

    Returns:
        dict: each name's float CPU tensor ``(N, ...)``.
    """
    _, world = get_dist_info()
    parts = defaultdict(list)
    for _, data in shard_batches(model, dataset, batch_size):
        for name, value in step(data).items():
            parts[name].append(value.detach().float().cpu())
    local = {name: torch.cat(values) for name, values in parts.items()}
    if world == 1:
        return local
    shards = all_gather_object(local)
    merged = {}
    for part in shards:  # a rank with no item returns nothing
        for name, first in part.items():
            merged.setdefault(
                name, first.new_empty((len(dataset), *first.shape[1:])))
    for r, part in enumerate(shards):
        for name, value in part.items():
            merged[name][r::world] = value
    return merged
