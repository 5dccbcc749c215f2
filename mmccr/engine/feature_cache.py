"""Frozen-feature cache: a dataset's image features computed once, on disk.

Prompt tuning trains a few thousand parameters on a frozen CLIP, so the
image tower gives every image the same features in every epoch. This
module computes them once per (backbone weights, input transform, dataset
samples) and stores them with :mod:`mmccr.utils.array_store`; a run whose
key is unchanged reads them back memory-mapped, and the training step
skips the image tower.

**Exact with flips.** The only random transform the cache accepts is
:class:`~mmccr.datasets.transforms.RandomFlip`, after every other image
transform: the features of the image and of its horizontal flip are both
stored, and each sample's view is decided with the same draw
(:func:`~mmccr.datasets.transforms.processing.flip_decision`) that the
uncached pipeline makes, so the batches are those of the uncached run.
Any other transform (a random resized crop, colour jitter, an unknown
one) is refused: a cache would freeze one draw of it, which is not the
uncached run.

**Key.** Backbone name, SHA-256 of the image tower's weights, the
deterministic transforms and the data preprocessor's normalisation,
dense or global only, the storage dtype, and the dataset: its type,
annotation file, data root, split and the identity of every sample in
order (its id and either its in-memory pixels' digest or its file's path,
size and modification time). Any change gives another folder.

**Distributed.** Every rank encodes its shard of the images and writes
its rows into the arrays rank 0 created; rank 0 then checks and commits
the folder. The cache folder must be on a file system every rank sees
(one machine, or a shared file system across nodes).
"""
import hashlib
import os
import os.path as osp
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

import numpy as np
import torch
import torch.distributed as dist
from mmengine.dataset import Compose, default_collate
from mmengine.dist import barrier, broadcast_object_list, get_dist_info
from mmengine.logging import print_log
from rich.progress import Progress

from mmccr.datasets.transforms import (
    CachedFeatureInputs,
    LoadImage,
    PackInputs,
    RandomFlip,
    Resize,
)
from mmccr.models.classifiers.cached_features import CachedFeatures
from mmccr.utils.array_store import (
    cache_root,
    commit_store,
    new_store,
    open_store,
    store_bytes,
    store_folder,
)
from mmccr.utils.digest import data_sha256, tensors_sha256

from .dataset_pass import shard_batches

#: Transforms that give the same image every time.
DETERMINISTIC = (LoadImage, Resize)

#: Storage dtypes.
DTYPES = ('float32', 'float16')


class CacheRefused(ValueError):
    """The dataset's pipeline (or the model) cannot be cached exactly."""


@dataclass
class CachePlan:
    """How to compute a dataset's cached features.

    Attributes:
        transforms (list): the pipeline without its flip (deterministic).
        flip_prob (float, optional): the flip probability; None: no flip.
    """
    transforms: List
    flip_prob: Optional[float]

    @property
    def num_views(self) -> int:
        """1 (the image) or 2 (the image and its flip)."""
        return 1 if self.flip_prob is None else 2


def cache_plan(dataset) -> CachePlan:
    """Check that ``dataset``'s pipeline can be cached exactly.

    Raises:
        CacheRefused: naming the transform (or the dataset) that prevents
            it and what to do.
    """
    transforms = getattr(getattr(dataset, 'pipeline', None), 'transforms',
                         None)
    if transforms is None or not hasattr(dataset, 'get_data_info'):
        raise CacheRefused(
            f'{type(dataset).__name__} is not an mmengine dataset with a '
            'pipeline (wrapped datasets are not cached).')
    if any(isinstance(t, CachedFeatureInputs) for t in transforms):
        raise CacheRefused('its pipeline reads a feature cache already.')
    kept, flip_prob = [], None
    for i, transform in enumerate(transforms):
        name = type(transform).__name__
        if isinstance(transform, RandomFlip):
            later = [type(t).__name__ for t in transforms[i + 1:]
                     if not isinstance(t, PackInputs)]
            if later:
                raise CacheRefused(
                    f'RandomFlip must be the last image transform (it comes '
                    f'before {", ".join(later)}): the cache flips the final '
                    'image.')
            flip_prob = float(transform.prob)
        elif isinstance(transform, PackInputs):
            if i != len(transforms) - 1:
                raise CacheRefused('PackInputs must end the pipeline.')
            kept.append(transform)
        elif isinstance(transform, DETERMINISTIC):
            kept.append(transform)
        else:
            raise CacheRefused(
                f'transform {name} is not known to give the same image every '
                'time (cached: LoadImage, Resize, a final RandomFlip). A '
                'random crop or colour change draws a new image each epoch, '
                'so cached features would not be those of the uncached run. '
                'Remove it, or train without the cache '
                '(feature_cache=dict(enabled=False)).')
    if not kept or not isinstance(kept[-1], PackInputs):
        raise CacheRefused('the pipeline does not end with PackInputs.')
    return CachePlan(kept, flip_prob)


def sample_identity(dataset) -> str:
    """SHA-256 of the dataset's samples, in order.

    A sample is its ``img_id`` and either the digest of its in-memory
    pixels or its image file's path, size and modification time.
    """
    records = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        record = [str(info.get('img_id', i))]
        img = info.get('img')
        if isinstance(img, np.ndarray):
            pixels = hashlib.sha256(np.ascontiguousarray(img).tobytes())
            record += [list(img.shape), str(img.dtype), pixels.hexdigest()]
        elif info.get('img_path'):
            path = info['img_path']
            stat = os.stat(path) if osp.exists(path) else None
            record += [path, stat.st_size if stat else None,
                       stat.st_mtime_ns if stat else None]
        records.append(record)
    return data_sha256(records)


def feature_key(model, dataset, plan: CachePlan, dtype: str,
                weights: str) -> dict:
    """Everything the cached features depend on (see the module doc)."""
    pre = model.data_preprocessor
    return dict(
        backbone=model.backbone.model_name,
        weights_sha256=weights,
        transforms=[repr(t) for t in plan.transforms],
        normalize=dict(
            mean=getattr(pre, 'mean', torch.zeros(0)).flatten().tolist(),
            std=getattr(pre, 'std', torch.zeros(0)).flatten().tolist(),
            bgr_to_rgb=bool(getattr(pre, '_channel_conversion', False))),
        views=['image', 'hflip'][:plan.num_views],
        dense=bool(model.learner.needs_dense_features),
        dtype=dtype,
        dataset=dict(
            type=type(dataset).__name__,
            ann_file=getattr(dataset, 'ann_file', None),
            data_root=getattr(dataset, 'data_root', None),
            split=getattr(dataset, 'split', None),
            num_samples=len(dataset),
            samples_sha256=sample_identity(dataset)))


def visual_weights_sha256(backbone) -> str:
    """SHA-256 of the image tower's weights."""
    return tensors_sha256(backbone.clip.visual.state_dict())


@contextmanager
def _pipeline(dataset, transforms: List) -> Iterator[None]:
    """Run ``dataset`` with ``transforms`` inside the block."""
    old = dataset.pipeline
    dataset.pipeline = Compose(transforms)
    try:
        yield
    finally:
        dataset.pipeline = old


def _encode(backbone, images, dense: bool) -> Tuple:
    if dense:
        return backbone.encode_image_dense(images)  # (B, D), (B, L, D)
    return backbone.encode_image(images), None  # (B, D)


def _broadcast(obj):
    box = [obj]
    broadcast_object_list(box, src=0)
    return box[0]


def _max_over_ranks(value: float) -> float:
    if dist.is_available() and dist.is_initialized():
        tensor = torch.tensor([value], dtype=torch.float64)
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return float(tensor)
    return value


@torch.no_grad()
def build_features(model, dataset, plan: CachePlan, key: dict, folder: str,
                   batch_size: int = 64,
                   progress: Optional[Progress] = None,
                   max_gib: float = 64.) -> dict:
    """Encode every image (and its flip) and commit the store ``folder``.

    Collective: every rank calls it and encodes its shard.

    Returns:
        dict: build facts (seconds, float16 error) recorded in the store.

    Raises:
        CacheRefused: the store would exceed ``max_gib`` GiB (checked
            before anything is written).
    """
    rank, world = get_dist_info()
    start = time.perf_counter()
    backbone, dense = model.backbone, key['dense']
    with _pipeline(dataset, plan.transforms):
        probe = model.data_preprocessor(default_collate([dataset[0]]), False)
        pooled, tokens = _encode(backbone, probe['inputs'], dense)
        shapes = dict(pooled=(len(dataset), plan.num_views, pooled.shape[-1]))
        if dense:
            shapes['tokens'] = (len(dataset), plan.num_views,
                                *tokens.shape[1:])
        gib = sum(np.prod(shape) for shape in shapes.values()) * \
            np.dtype(key['dtype']).itemsize / 2**30
        if gib > max_gib:
            raise CacheRefused(
                f'its features would take {gib:.1f} GiB on disk, more than '
                f'feature_cache.max_gib={max_gib:g}; raise max_gib, store '
                "float16 (feature_cache.dtype='float16') or turn the cache "
                'off.')
        tmp = _broadcast(new_store(folder) if rank == 0 else None)
        if rank == 0:
            for name, shape in shapes.items():
                np.lib.format.open_memmap(
                    osp.join(tmp, f'{name}.npy'), mode='w+',
                    dtype=key['dtype'], shape=shape).flush()
        barrier()
        arrays = {name: np.load(osp.join(tmp, f'{name}.npy'), mmap_mode='r+')
                  for name in shapes}
        error = 0.
        num_batches = -(-len(range(rank, len(dataset), world)) // batch_size)
        own = progress is None and rank == 0
        bar = Progress(transient=True) if own else progress
        with bar if own else nullcontext():
            task = None if bar is None else bar.add_task(
                'feature cache', total=num_batches)
            for index, data in shard_batches(model, dataset, batch_size):
                images = data['inputs']  # (B, 3, H, W)
                views = [_encode(backbone, images, dense)]
                if plan.num_views == 2:
                    views.append(_encode(backbone, images.flip(-1), dense))
                rows = index.numpy()
                for name, part in (('pooled', 0), ('tokens', 1)):
                    if name not in arrays:
                        continue
                    value = torch.stack([v[part] for v in views], 1).float()
                    stored = value.numpy().astype(key['dtype'])
                    arrays[name][rows] = stored  # (B, V, ...)
                    error = max(error, float(
                        (torch.from_numpy(stored).float() - value).abs()
                        .max()))
                if bar is not None:
                    bar.advance(task)
            if bar is not None:
                bar.remove_task(task)
        for array in arrays.values():
            array.flush()
        del arrays
    info = dict(build_seconds=round(time.perf_counter() - start, 3),
                max_abs_storage_error=_max_over_ranks(error),
                world_size=world)
    barrier()
    if rank == 0:
        commit_store(tmp, folder, key, info)
    barrier()
    return info


def prepare_cache(model, dataset, cache_dir: Optional[str] = None,
                  dtype: str = 'float32', batch_size: int = 64,
                  progress: Optional[Progress] = None,
                  weights: Optional[str] = None,
                  max_gib: float = 64.
                  ) -> Tuple[str, CachedFeatures, CachePlan]:
    """Open ``dataset``'s feature cache, building it first if needed.

    A missing store is built; an unusable one (truncated, corrupt) is
    rebuilt with a warning naming the problem. Collective in distributed
    runs (rank 0 decides, every rank encodes its shard).

    Args:
        model: the unwrapped :class:`PromptClassifier`.
        dataset: the dataset (its pipeline is checked by
            :func:`cache_plan`).
        cache_dir (str, optional): root folder; defaults to
            ``<mmccr cache>/features`` (``$MMCCR_CACHE_DIR``).
        dtype (str): ``'float32'`` (exact) or ``'float16'`` (half the
            size; the largest absolute rounding error is logged).
        batch_size (int): images per encoder pass while building.
        progress (Progress, optional): a running rich display for the bar.
        weights (str, optional): :func:`visual_weights_sha256` of the
            backbone, when the caller knows it already.
        max_gib (float): refuse a store larger than this (GiB); dense
            tokens of a large test set take tens of GiB.

    Returns:
        tuple: the cache's name, its :class:`CachedFeatures` and the plan.

    Raises:
        CacheRefused: the pipeline cannot be cached, the image tower
            trains, or the store would exceed ``max_gib``.
    """
    if dtype not in DTYPES:
        raise ValueError(f'feature cache dtype must be one of {DTYPES}, got '
                         f'{dtype!r}')
    plan = cache_plan(dataset)
    visual = model.backbone.clip.visual
    if any(p.requires_grad for p in visual.parameters()):
        raise CacheRefused('the image tower has trainable parameters.')
    weights = weights or visual_weights_sha256(model.backbone)
    key = feature_key(model, dataset, plan, dtype, weights)
    root = cache_dir or osp.join(cache_root(), 'features')
    folder = store_folder(root, type(dataset).__name__.lower(), key)
    arrays, problem = open_store(folder, key) if get_dist_info()[0] == 0 \
        else (None, None)
    state = _broadcast('ready' if arrays is not None else problem or 'absent')
    if state != 'ready':
        if state != 'absent':
            print_log(f'Feature cache {folder}: {state}; rebuilding it.',
                      logger='current', level=30)
        info = build_features(model, dataset, plan, key, folder, batch_size,
                              progress, max_gib)
        arrays, problem = open_store(folder, key)
        if arrays is None:
            raise RuntimeError(
                f'Feature cache {folder} is not readable on rank '
                f'{get_dist_info()[0]} after it was built ({problem}); the '
                'cache folder must be on a file system every rank sees: set '
                'feature_cache.cache_dir to one.')
        note = f'built in {info["build_seconds"]:.1f} s'
        if dtype == 'float16':
            note += (', float16 max |error| '
                     f'{info["max_abs_storage_error"]:.2e}')
    else:
        if get_dist_info()[0] != 0:
            arrays, problem = open_store(folder, key)
        note = 'reused'
    cached = CachedFeatures(arrays['pooled'], arrays.get('tokens'))
    print_log(
        f'Feature cache {folder}: {len(cached)} samples x {plan.num_views} '
        f'view(s), {"global + dense" if key["dense"] else "global"}, '
        f'{dtype}, {store_bytes(arrays) / 2**20:.1f} MiB; {note}.',
        logger='current')
    return osp.basename(folder), cached, plan


def use_cache(model, dataset, name: str, cached: CachedFeatures,
              plan: CachePlan) -> None:
    """Make ``dataset`` pack cached-feature samples that ``model`` reads.

    The pipeline becomes one :class:`CachedFeatureInputs` (same flip
    draw, no image loaded; it keeps the image pipeline for passes that
    need images); the model keeps ``cached`` under ``name``.
    """
    model.feature_caches[name] = cached
    dataset.pipeline = Compose([
        CachedFeatureInputs(name, plan.flip_prob, dataset.pipeline)])

