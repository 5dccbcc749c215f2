"""Base class of mmccr's multi-label datasets.

A subclass only reads its annotation format in :meth:`load_annotations`;
this class selects the class split (all / base / new), draws and caches the
few-shot sample, and publishes the metainfo that models and metrics use.
"""
import hashlib
import json
import os
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mmccr.registry import DATASETS
from mmccr.utils.array_store import cache_root
from mmccr.utils.io import atomic_write_json

from .fewshot import base_new_split, frequency_groups, sample_few_shot
from .files import (
    check_images,
    name_indices,
    read_lines,
    resolve,
)
from .seeding import SampleIndex, seeded_random_state

_CLASS_SPLITS = ('all', 'base', 'new')


class MultiLabelDataset(BaseDataset):
    """Multi-label dataset with base/new classes and few-shot sampling.

    Every item has ``img_path`` (or an in-memory ``img``), ``img_id`` and
    ``gt_label``, an ``int8`` array ``(C,)`` over the *selected* classes
    with 1 (positive), 0 (negative) or -1 (ignored in evaluation).

    Metainfo after loading:

    * ``classes`` / ``prompt_names``: canonical and prompt names of the
      selected classes, in canonical order;
    * ``base_prompt_names``: prompt names of all base classes (the classes
      prompts are trained on), whichever classes are selected;
    * ``groups``: indices (into the selected classes) of ``base``, ``new``
      and, when training counts are known, ``head``, ``medium``, ``tail``;
    * ``class_counts``: training images per selected class (full pool);
    * ``shot_counts``: images per selected class in the few-shot sample.

    Args:
        ann_file (str): annotation file, relative to ``data_root``.
        data_root (str): dataset folder.
        data_prefix (dict): image folder, ``dict(img_path='...')``.
        pipeline (list): transforms.
        class_split (str): which classes to predict: ``'all'``, ``'base'``
            or ``'new'``. Defaults to ``'all'``.
        base_classes (Sequence[str] | str, optional): the base classes: a
            list of canonical names, or a text file with one name per line
            (relative to ``data_root`` unless absolute). Defaults to None,
            the first ⌈C/2⌉ classes in canonical order.
        new_class_images (str): with a ``'base'``/``'new'`` split, ``'mask'``
            keeps images that contain other classes (their labels are simply
            not predicted), ``'exclude'`` drops them. Defaults to ``'mask'``.
        num_shots (int, optional): draw a few-shot sample with at least this
            many images per selected class. Defaults to None (all images).
        seed (int): seed of the few-shot sample. Defaults to 1.
        split_dir (str, optional): where few-shot splits and class counts are
            cached. Defaults to a per-data-root folder of the user cache,
            ``$MMCCR_CACHE_DIR/splits/<data root>`` (``MMCCR_CACHE_DIR``
            defaults to ``$XDG_CACHE_HOME/mmccr``, i.e.
            ``~/.cache/mmccr``), so the data folder is never written to;
            when that folder cannot be written, the system temporary folder
            is used with a warning.
        prompt_names (Sequence[str] | dict, optional): names used in prompts,
            as a list over all classes or a dict that renames some.
        class_counts (str | Sequence[int], optional): training-image counts
            per class for head/medium/tail: a list over all classes, or an
            annotation file of the training pool (same format, counted once
            and cached). Defaults to counting this dataset when
            ``test_mode=False``.
        missing_images (str): listed images whose file is absent are
            ``'drop'``-ped and counted in the log, raise (``'error'``) or
            are kept unchecked (``'keep'``). Defaults to ``'drop'``.
        exclude_images_of (dict | list[dict], optional): dataset configs
            whose images are removed from this one (by ``img_id``), e.g. the
            few-shot training sample in domain generalization; the number
            removed is logged and published as ``excluded_images``.
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset`.
    """

    def __init__(self,
                 ann_file: str = '',
                 data_root: str = '',
                 data_prefix: dict = dict(img_path=''),
                 pipeline: Sequence = (),
                 class_split: str = 'all',
                 new_class_images: str = 'mask',
                 num_shots: Optional[int] = None,
                 seed: int = 1,
                 split_dir: Optional[str] = None,
                 prompt_names: Optional[Union[Sequence[str], dict]] = None,
                 class_counts: Optional[Union[str, Sequence[int]]] = None,
                 base_classes: Optional[Union[str, Sequence[str]]] = None,
                 missing_images: str = 'drop',
                 exclude_images_of: Optional[Union[dict, List[dict]]] = None,
                 **kwargs) -> None:
        if class_split not in _CLASS_SPLITS:
            raise ValueError(f'class_split must be one of {_CLASS_SPLITS}, '
                             f'got {class_split!r}')
        if new_class_images not in ('mask', 'exclude'):
            raise ValueError("new_class_images must be 'mask' or 'exclude', "
                             f'got {new_class_images!r}')
        self.class_split = class_split
        self.new_class_images = new_class_images
        self.num_shots = num_shots
        self.seed = seed
        self.split_dir = split_dir
        self.prompt_names = prompt_names
        self.class_counts = class_counts
        self.base_classes = base_classes
        self.missing_images = missing_images
        self.exclude_images_of = exclude_images_of
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=list(pipeline),
            **kwargs)

    # ------------------------------------------------------------------ #
    # to implement                                                       #
    # ------------------------------------------------------------------ #
    def load_annotations(self, ann_file: str) -> Tuple[List[str], List[dict]]:
        """Read one annotation file.

        Returns:
            tuple: the canonical class names (all classes), and one dict per
            image with ``img_id``, ``img_path`` (relative to the image
            folder) or ``img``, and ``labels``, an ``int8`` array over all
            classes.
        """
        raise NotImplementedError

    def __getitem__(self, idx: int) -> dict:
        """The processed sample ``idx``.

        An index from :class:`~mmccr.datasets.seeding.SeededSampler` runs
        the pipeline with random streams seeded from (seed, epoch, index),
        so augmentation does not depend on the worker process.
        """
        if isinstance(idx, SampleIndex):
            with seeded_random_state(idx.seed, idx.epoch, int(idx)):
                return super().__getitem__(int(idx))
        return super().__getitem__(idx)

    # ------------------------------------------------------------------ #
    # loading                                                            #
    # ------------------------------------------------------------------ #
    def load_data_list(self) -> List[dict]:
        """Load, select classes, sample shots and publish the metainfo."""
        classes, records = self.load_annotations(self.ann_file)
        records = check_images(records, self.data_prefix.get('img_path', ''),
                               self.missing_images, type(self).__name__)
        records = self._exclude_images(records)
        labels = np.stack([r['labels'] for r in records]) if records else \
            np.zeros((0, len(classes)), np.int8)
        split = base_new_split(len(classes), self._base_indices(classes))
        self._base_names = [classes[c] for c in split['base']]
        selected = list(range(len(classes))) if self.class_split == 'all' \
            else split[self.class_split]
        rows = np.arange(len(records))
        if self.class_split != 'all' and self.new_class_images == 'exclude':
            others = np.setdiff1d(np.arange(len(classes)), selected)
            rows = rows[~(labels[:, others] == 1).any(axis=1)]
        counts_all = self._class_counts(classes, labels)
        if self.num_shots:
            rows = self._few_shot_rows(records, labels[:, selected], rows)
        if len(rows) == 0:
            raise ValueError(
                f'{type(self).__name__} ({self.ann_file}) has no image left '
                f'with class_split={self.class_split!r}, new_class_images='
                f'{self.new_class_images!r}, num_shots={self.num_shots}.')

        prefix = self.data_prefix.get('img_path', '')
        data_list = []
        for row in rows:
            record = records[row]
            item = {k: v for k, v in record.items() if k != 'labels'}
            if 'img_path' in item:
                item['img_path'] = osp.join(prefix, item['img_path'])
            item['gt_label'] = labels[row, selected].astype(np.int8)
            data_list.append(item)
        self._publish_metainfo(classes, selected, split, counts_all,
                               labels[rows][:, selected])
        return data_list

    def _base_indices(self, classes: List[str]) -> Optional[List[int]]:
        """Indices of the configured base classes (None: the default)."""
        source = self.base_classes
        if source is None:
            return None
        where = 'base_classes'
        if isinstance(source, str):
            where = source = resolve(self.data_root, source)
            source = read_lines(source, 'base-class file (one name per line)')
        if not source:
            raise ValueError(f'{where}: base_classes is empty; name at least '
                             'one class.')
        return sorted(name_indices(source, classes, where))

    def _exclude_images(self, records: List[dict]) -> List[dict]:
        """Drop the images of ``exclude_images_of`` (by ``img_id``)."""
        self._metainfo['excluded_images'] = 0
        if not self.exclude_images_of:
            return records
        cfgs = self.exclude_images_of
        cfgs = [cfgs] if isinstance(cfgs, dict) else list(cfgs)
        ids = set()
        for cfg in cfgs:
            other = DATASETS.build(
                dict(cfg, pipeline=[], serialize_data=False, lazy_init=False))
            ids.update(str(other.get_data_info(i)['img_id'])
                       for i in range(len(other)))
        kept = [r for r in records if str(r['img_id']) not in ids]
        removed = len(records) - len(kept)
        self._metainfo['excluded_images'] = removed
        print_log(f'{type(self).__name__} ({self.source_name()}): removed '
                  f'{removed} image(s) that also occur in '
                  f"{', '.join(c['type'] for c in cfgs)} "
                  f'({len(ids)} images).', logger='current')
        return kept

    def _few_shot_rows(self, records: List[dict], labels: np.ndarray,
                       rows: np.ndarray) -> np.ndarray:
        """Rows of the few-shot sample, from the split file or sampled."""
        path = self._split_file()
        ids = [records[r]['img_id'] for r in rows]
        if osp.isfile(path):
            with open(path) as f:
                saved = json.load(f)
            expected = dict(num_shots=self.num_shots, seed=self.seed,
                            class_split=self.class_split,
                            base_classes=self._base_names)
            wrong = {k: saved.get(k) for k, v in expected.items()
                     if saved.get(k) != v and
                     not (k == 'base_classes' and k not in saved)}
            if wrong:
                raise ValueError(
                    f'Few-shot split file {path} was drawn with {wrong}, '
                    f'but this dataset asks for {expected}; delete the file '
                    'to draw a new sample.')
            index = {str(i): r for i, r in zip(ids, rows, strict=True)}
            missing = [i for i in saved['img_ids'] if str(i) not in index]
            if missing:
                raise ValueError(
                    f'Few-shot split file {path} names {len(missing)} images '
                    f'that are not in {self.ann_file} or whose image file is '
                    f'missing (e.g. {missing[:3]}); delete the split file to '
                    'draw a new sample.')
            print_log(f'Loaded the few-shot split {path}', logger='current')
            return np.array([index[str(i)] for i in saved['img_ids']],
                            dtype=np.int64)
        chosen = sample_few_shot(ids, labels[rows], self.num_shots,
                                 self.seed)
        chosen_rows = rows[chosen]
        shot_counts = (labels[chosen_rows] == 1).sum(0).tolist()
        atomic_write_json(
            path,
            dict(
                ann_file=self.ann_file,
                class_split=self.class_split,
                base_classes=self._base_names,
                num_shots=self.num_shots,
                seed=self.seed,
                img_ids=[records[r]['img_id'] for r in chosen_rows],
                shot_counts=shot_counts))
        print_log(f'Drew a {self.num_shots}-shot sample of '
                  f'{len(chosen_rows)} images (seed {self.seed}); saved '
                  f'to {path}', logger='current')
        return chosen_rows

    def source_name(self) -> str:
        """Names the image pool in split file names (the annotation file)."""
        return osp.splitext(osp.basename(self.ann_file))[0]

    def _split_file(self) -> str:
        # 'mask' and 'exclude' draw from different pools, so their samples
        # must not share a file.
        classes = self.class_split if self.class_split == 'all' else \
            f'{self.class_split}-{self.new_class_images}'
        if self.class_split != 'all' and self.base_classes is not None:
            digest = hashlib.sha1(
                '\n'.join(self._base_names).encode()).hexdigest()[:8]
            classes += f'-base{digest}'
        return osp.join(
            self._split_dir(),
            f'{type(self).__name__}_{self.source_name()}_{classes}_'
            f'{self.num_shots}shot_seed{self.seed}.json')

    def _split_dir(self) -> str:
        if self.split_dir:
            return self.split_dir
        cache = cache_root()
        # One folder per data root, named after its absolute path.
        leaf = osp.abspath(self.data_root or '.').strip(os.sep).replace(
            os.sep, '_') or 'root'
        folder = osp.join(cache, 'splits', leaf)
        if _writable(folder):
            return folder
        fallback = osp.join(tempfile.gettempdir(),
                            f'mmccr-splits-{os.getuid()}', leaf)
        print_log(f'Cannot write few-shot splits to {folder}; using '
                  f'{fallback} (set MMCCR_CACHE_DIR or split_dir= to keep '
                  'them).', logger='current', level=30)
        return fallback

    def _class_counts(self, classes: List[str],
                      labels: np.ndarray) -> Optional[List[int]]:
        """Training-image counts per class (all classes), if known."""
        source = self.class_counts
        if source is None:
            return None if self.test_mode else (labels == 1).sum(0).tolist()
        if not isinstance(source, str):
            if len(source) != len(classes):
                raise ValueError(f'class_counts has {len(source)} entries '
                                 f'but the dataset has {len(classes)} classes')
            return [int(c) for c in source]
        path = resolve(self.data_root, source)
        stem = osp.splitext(osp.basename(path))[0]
        cache = osp.join(self._split_dir(),
                         f'{type(self).__name__}_{stem}_class_counts.json')
        # The cache is keyed on the file's identity; it also serves when the
        # training annotations are not on this machine.
        source_id = dict(
            ann_file=osp.abspath(path),
            size=osp.getsize(path),
            mtime=int(osp.getmtime(path))) if osp.isfile(path) else None
        if osp.isfile(cache):
            with open(cache) as f:
                cached = json.load(f)
            if source_id is None or cached.get('source') == source_id:
                return cached['class_counts']
        if source_id is None:
            raise FileNotFoundError(
                f'class_counts file {path!r} (the training annotations used '
                'for head/medium/tail groups) not found.')
        _, train_records = self.load_annotations(path)
        counts = np.sum([r['labels'] == 1 for r in train_records],
                        axis=0).astype(int).tolist()
        atomic_write_json(cache, dict(source=source_id, class_counts=counts))
        return counts

    def _frequency_groups(self, counts: List[int]) -> Dict[str, List[int]]:
        """Head / medium / tail class indices (all classes) from counts."""
        return frequency_groups(counts)

    def _resolve_prompt_names(self, classes: List[str]) -> List[str]:
        names = self.prompt_names or self._metainfo.get('prompt_names')
        if names is None:
            return list(classes)
        if isinstance(names, dict):
            return [names.get(c, c) for c in classes]
        if len(names) != len(classes):
            raise ValueError(f'prompt_names has {len(names)} entries but the '
                             f'dataset has {len(classes)} classes')
        return list(names)

    def _publish_metainfo(self, classes: List[str], selected: List[int],
                          split: Dict[str, List[int]],
                          counts: Optional[List[int]],
                          labels: np.ndarray) -> None:
        position = {c: i for i, c in enumerate(selected)}
        groups = {
            name: [position[c] for c in members if c in position]
            for name, members in split.items()
        }
        if counts is not None:
            for name, members in self._frequency_groups(counts).items():
                groups[name] = [position[c] for c in members if c in position]
        prompt_names = self._resolve_prompt_names(classes)
        shot_counts = (labels == 1).sum(0).tolist()
        self._metainfo.update(
            classes=[classes[c] for c in selected],
            prompt_names=[prompt_names[c] for c in selected],
            base_prompt_names=[prompt_names[c] for c in split['base']],
            class_split=self.class_split,
            groups=groups,
            class_counts=None if counts is None else
            [counts[c] for c in selected],
            shot_counts=shot_counts)
        table = ', '.join(f'{classes[c]}: {n}'
                          for c, n in zip(selected, shot_counts, strict=True))
        print_log(f'{type(self).__name__} ({self.source_name()}): '
                  f'{len(labels)} images, {len(selected)} classes '
                  f'({self.class_split}); positives per class: {table}',
                  logger='current')


def _writable(folder: str) -> bool:
    """Whether ``folder`` exists or can be created, and accepts files."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)
