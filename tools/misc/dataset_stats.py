"""Check a dataset before training: counts, groups and the few-shot sample.

``python tools/misc/dataset_stats.py CONFIG [--shots K] [--seed S]
[--png freq.png] [--json stats.json] [--cfg-options ...]``

Builds the config's training pool (all images, all classes), its K-shot
sample for the given seed, and its validation / test sets, then prints
(rich tables) the images per split and, per class, base / new and head /
medium / tail membership, training-pool positives, test positives and
K-shot positives. The sample is drawn into a temporary folder, so nothing
is written; it is the sample training with that K and seed will use.
``--png`` draws the training-pool class-frequency curve (log scale, with
the head / tail thresholds).
"""
import argparse
import copy
import tempfile
from typing import Dict, List, Optional

import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope
from rich.console import Console
from rich.table import Table

import mmccr  # noqa: F401  (registers the datasets)
from mmccr.datasets.fewshot import HEAD_MIN, TAIL_MAX
from mmccr.registry import DATASETS
from mmccr.utils.io import atomic_write_json

_LOADERS = ('val_dataloader', 'test_dataloader')


def _build(dataset_cfg: dict, **changes):
    cfg = copy.deepcopy(dataset_cfg)
    cfg.update(pipeline=[], serialize_data=False, **changes)
    with DefaultScope.overwrite_default_scope('mmccr'):
        return DATASETS.build(cfg)


def _positives(dataset) -> List[int]:
    """Images per class (label 1) of a built dataset."""
    labels = [dataset.get_data_info(i)['gt_label']
              for i in range(len(dataset))]
    if not labels:
        return [0] * len(dataset.metainfo['classes'])
    return (np.stack(labels) == 1).sum(0).astype(int).tolist()


def collect(cfg: Config, shots: int, seed: int) -> Dict:
    """Counts of the config's datasets.

    Returns:
        dict: ``images`` (per split: ``train_pool``, ``<K>shot_seed<S>``,
        ``val``, ``test``), ``classes`` (one dict per class: ``name``,
        ``split`` base/new, ``group`` head/medium/tail or None,
        ``train_pool``, ``test``, ``shots`` — None for new classes) and
        ``excluded_images`` of the test set.
    """
    train_cfg = cfg.train_dataloader.dataset
    pool = _build(train_cfg, num_shots=None, class_split='all')
    with tempfile.TemporaryDirectory() as tmp:
        sample = _build(train_cfg, num_shots=shots, seed=seed, split_dir=tmp)
    evals = {}
    for loader in _LOADERS:
        loader_cfg = cfg.get(loader)
        if loader_cfg and loader_cfg.get('dataset'):
            key = loader.split('_')[0]
            if key == 'test' and loader_cfg == cfg.get('val_dataloader'):
                evals['test'] = evals['val']
            else:
                evals[key] = _build(loader_cfg.dataset)
    reference = evals.get('test') or evals.get('val') or pool
    meta = reference.metainfo
    groups = meta['groups']
    membership: Dict[int, str] = {}
    for name in ('head', 'medium', 'tail'):
        for c in groups.get(name, []):
            membership[c] = name
    base = set(groups['base'])
    test_pos = _positives(reference)
    pool_pos = dict(zip(pool.metainfo['classes'], _positives(pool),
                        strict=True))
    shot_pos = dict(zip(sample.metainfo['classes'],
                        sample.metainfo['shot_counts'], strict=True))
    classes = [
        dict(name=name,
             split='base' if c in base else 'new',
             group=membership.get(c),
             train_pool=pool_pos.get(name),
             test=test_pos[c],
             shots=shot_pos.get(name))
        for c, name in enumerate(meta['classes'])
    ]
    images = {'train_pool': len(pool),
              f'{shots}shot_seed{seed}': len(sample)}
    images.update({k: len(v) for k, v in evals.items()})
    return dict(images=images, classes=classes,
                excluded_images=meta.get('excluded_images', 0))


def print_stats(stats: Dict, console: Optional[Console] = None) -> None:
    """Two rich tables: images per split, then one row per class."""
    console = console or Console()
    split_table = Table(title='Images per split')
    split_table.add_column('split')
    split_table.add_column('images', justify='right')
    for name, count in stats['images'].items():
        split_table.add_row(name, str(count))
    console.print(split_table)
    shot_key = [k for k in stats['images'] if 'shot' in k][0]
    table = Table(title='Classes')
    for column in ('#', 'class', 'base/new', 'group', 'train pool', 'test',
                   shot_key):
        table.add_column(column, justify='left' if column in (
            'class', 'base/new', 'group') else 'right')
    for i, row in enumerate(stats['classes']):
        table.add_row(str(i), row['name'], row['split'], row['group'] or '-',
                      str(row['train_pool']), str(row['test']),
                      '-' if row['shots'] is None else str(row['shots']))
    console.print(table)
    groups = {}
    for row in stats['classes']:
        groups.setdefault(row['group'], []).append(row['name'])
    summary = ', '.join(f'{g}: {len(v)}' for g, v in groups.items() if g)
    base = sum(row['split'] == 'base' for row in stats['classes'])
    console.print(f'{len(stats["classes"])} classes; base {base}, new '
                  f'{len(stats["classes"]) - base}' +
                  (f'; {summary}' if summary else '') +
                  (f'; {stats["excluded_images"]} test images excluded'
                   if stats['excluded_images'] else ''))


def plot_frequency(stats: Dict, path: str) -> None:
    """Training-pool images per class, sorted, with the group thresholds."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    rows = sorted(stats['classes'], key=lambda r: -r['train_pool'])
    fig, ax = plt.subplots(figsize=(max(6, len(rows) * 0.12), 4))
    ax.bar(range(len(rows)), [max(r['train_pool'], 0.5) for r in rows],
           color=['tab:blue' if r['split'] == 'base' else 'tab:orange'
                  for r in rows])
    ax.set_yscale('log')
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for level in (HEAD_MIN, TAIL_MAX):
        ax.axhline(level, color='grey', linestyle='--', linewidth=0.8)
    ax.set_xlabel('class (sorted; blue = base, orange = new)')
    ax.set_ylabel('training images (log)')
    ax.set_title(f'Class frequency ({HEAD_MIN}+ head, <{TAIL_MAX} tail)')
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--shots', type=int, default=None,
                        help="K (default: the config's num_shots, else 16)")
    parser.add_argument('--seed', type=int, default=None,
                        help="few-shot seed (default: the config's seed)")
    parser.add_argument('--png', help='write the class-frequency curve here')
    parser.add_argument('--json', help='write the statistics here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, as in tools/train.py')
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    train = cfg.train_dataloader.dataset
    shots = args.shots or train.get('num_shots') or 16
    seed = args.seed if args.seed is not None else train.get('seed', 1)
    stats = collect(cfg, shots, seed)
    print_stats(stats)
    if args.png:
        plot_frequency(stats, args.png)
    if args.json:
        atomic_write_json(args.json, stats)


if __name__ == '__main__':
    main()
