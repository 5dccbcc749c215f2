"""Sweep the weight λ of train-time calibrators (the CCR paper's Fig. 4).

``python tools/analysis_tools/lambda_sweep.py [CONFIG] [--methods ...]
[--lambdas ...] [--seeds ...]``

``CONFIG`` (default: the toy-world CoOp + BCE demo) is trained once per
(method, λ, seed) with the method's calibrator added at ``loss_weight=λ``,
and once without a calibrator (λ = 0, the baseline). Every run is evaluated
on the config's **validation** split (``val_dataloader``; the toy world's
``val``), never on test, so the λ chosen here can be reported on test
later. The runs are a grid (``mmccr/apis/grid.py``: the config × one
``options`` entry per method and λ) in the store ``WORK_DIR/results.jsonl``,
so finished runs are skipped like every grid's.

Methods (``--methods``): ``CCR``; ``anchor``, the KgCoOp-style text anchor
on the base classes (``TextAnchor``, squared L2); ``DOR`` with the demo's
5000-noun vocabulary. The chosen λ of a method minimises its mean base ECE
on the validation split.

Writes ``sweep.csv`` (one row per method and λ: mean and std over seeds),
``sweep.png`` (base accuracy and base ECE against λ, log scale, the
baseline as a dashed line) and ``chosen.json`` under ``--work-dir``.
"""
import argparse
import os.path as osp
from typing import Dict, List

from mmengine.config import Config, DictAction
from rich.console import Console

from mmccr.apis.grid import Grid, GridError, grid_from_config
from mmccr.apis.grid_runner import Options, prepare, run_grid, store_path
from mmccr.apis.store import read_store
from mmccr.evaluation.comparison import summarize
from mmccr.utils.config import load_config
from mmccr.utils.io import atomic_write_bytes, atomic_write_json
from mmccr.visualization.figures import new_figure, rows_to_csv, save_png

DEFAULT_CONFIG = 'configs/demo/coop_bce_toyworld.py'

#: Calibrator of each method; ``loss_weight`` is set by the sweep.
METHODS = {
    'CCR': dict(type='CCR'),
    'anchor': dict(type='TextAnchor', form='squared_l2'),
    'DOR': dict(type='DOR', vocab_file='configs/demo/dor_vocab_5k.txt',
                pool_size=1000, num_outliers=64),
}

#: Values read from each run (``recog/acc`` is the Hamming accuracy).
KEYS = {
    'acc[Hamming]': 'recog/acc_base',
    'acc[pos-pairs]': 'recog/positive_acc_base',
    'mAP': 'recog/mAP_base',
    'ECE': 'calib/ECE_base',
    'Gap': 'calib/Gap_base',
}


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG,
                        help='a training config without calibrators '
                        f'(default: {DEFAULT_CONFIG})')
    parser.add_argument('--methods', nargs='+', default=list(METHODS),
                        choices=list(METHODS))
    parser.add_argument('--lambdas', nargs='+', type=float,
                        default=[1e-3, 1e-2, 1e-1, 1.0, 10.0])
    parser.add_argument('--seeds', nargs='+', type=int, default=[1])
    parser.add_argument('--work-dir', default='work_dirs/lambda_sweep')
    parser.add_argument('--rerun', action='store_true',
                        help='run finished runs again')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides applied to every run')
    return parser


def sweep_options(args: argparse.Namespace) -> Dict[str, dict]:
    """The options axis: ``METHOD/lambdaL`` → the calibrators at λ;
    ``BCE/lambda0`` is the baseline."""
    options = {'BCE/lambda0': {'calibrators': []}}
    for method in args.methods:
        for lam in args.lambdas:
            options[f'{method}/lambda{lam:g}'] = {
                'calibrators': [dict(METHODS[method], loss_weight=lam)]}
    return options


def sweep_grid(args: argparse.Namespace) -> Grid:
    """The sweep as a grid: every run tested on the val split."""
    base = load_config(args.config, args.cfg_options)
    evaluator = [dict(m) for m in base.val_evaluator]
    for metric in evaluator:
        if metric['type'] == 'MultiLabelRecognition':
            metric['items'] = ('mAP', 'acc', 'positive_acc')
        if metric['type'] == 'MultiLabelCalibration':
            metric['items'] = ('ECE', 'Gap')
    common = dict(args.cfg_options or {})
    common.update({
        # choose on val, never test
        'test_dataloader': dict(base.val_dataloader.to_dict(),
                                _delete_=True),
        'test_evaluator': evaluator,
        # no validation while training: the final test runs on val
        'train_cfg.val_begin': base.train_cfg.max_epochs + 1,
    })
    spec = Config(dict(configs={'sweep': args.config},
                       options=sweep_options(args), seeds=args.seeds,
                       cfg_options=common))
    return grid_from_config(spec, 'lambda_sweep', args.work_dir,
                            source='lambda_sweep.py')


def sweep(args: argparse.Namespace, console: Console) -> List[dict]:
    """Rows ``method, lambda, <key>_mean, <key>_std``; λ = 0 is the
    baseline (method ``BCE``)."""
    grid = sweep_grid(args)
    try:
        run_grid(grid, prepare(grid), Options(rerun=args.rerun,
                                              rerun_failed=True), console)
    except GridError as e:
        raise SystemExit(str(e)) from None
    latest = read_store(store_path(grid)).latest()
    plan = [('BCE', 0.0)] + [(m, lam) for m in args.methods
                             for lam in args.lambdas]
    rows = []
    for method, lam in plan:
        label = f'{method}/lambda{lam:g}'
        runs = [latest[r.id]['metrics'] for r in grid.runs()
                if r.cell.labels['options'] == label and r.id in latest
                and latest[r.id]['status'] == 'done']
        row = dict(method=method, lam=lam, runs=len(runs))
        for key_label, key in KEYS.items():
            mean, std = summarize([r[key] for r in runs])
            row[f'{key_label}_mean'], row[f'{key_label}_std'] = mean, std
        rows.append(row)
    return rows


def choose(rows: List[dict]) -> Dict[str, float]:
    """Per method, the λ with the lowest mean base ECE on val."""
    chosen = {}
    for row in rows:
        best = chosen.get(row['method'])
        if best is None or row['ECE_mean'] < best['ECE_mean']:
            chosen[row['method']] = row
    return {m: r['lam'] for m, r in chosen.items() if m != 'BCE'}


def plot(rows: List[dict], path: str, title: str) -> None:
    """Base accuracy and base ECE (×100) against λ, one line per method."""
    fig = new_figure(10, 4)
    base = next(r for r in rows if r['method'] == 'BCE')
    for ax, label in zip(fig.subplots(1, 2), ('acc[Hamming]', 'ECE'),
                         strict=True):
        for method in dict.fromkeys(r['method'] for r in rows
                                    if r['method'] != 'BCE'):
            own = [r for r in rows if r['method'] == method]
            ax.errorbar([r['lam'] for r in own],
                        [100 * r[f'{label}_mean'] for r in own],
                        yerr=[100 * r[f'{label}_std'] for r in own],
                        marker='o', capsize=3, label=method)
        ax.axhline(100 * base[f'{label}_mean'], color='grey',
                   linestyle='--', label='BCE (λ = 0)')
        ax.set_xscale('log')
        ax.set_xlabel('λ')
        ax.set_ylabel(f'base {label} (×10⁻², val split)')
        ax.legend()
    fig.suptitle(title)
    save_png(fig, path)


def main() -> None:
    args = build_parser().parse_args()
    console = Console()
    rows = sweep(args, console)
    chosen = choose(rows)
    seeds = ', '.join(map(str, args.seeds))
    for row in rows:
        console.print(
            f"{row['method']:>8} λ={row['lam']:<8g} " + '  '.join(
                f"{label} {100 * row[f'{label}_mean']:.2f}"
                for label in KEYS), markup=False)
    console.print(f'λ with the lowest base ECE on val: {chosen}')
    atomic_write_bytes(osp.join(args.work_dir, 'sweep.csv'),
                       rows_to_csv(rows).encode('utf-8'))
    atomic_write_json(osp.join(args.work_dir, 'chosen.json'),
                      dict(criterion='lowest mean base ECE on the val split',
                           seeds=args.seeds, chosen=chosen))
    plot(rows, osp.join(args.work_dir, 'sweep.png'),
         f'{osp.basename(args.config)}, seeds {seeds}: base classes, '
         'val split')
    console.print(f'written {args.work_dir}/sweep.csv, sweep.png, '
                  'chosen.json')


if __name__ == '__main__':
    main()
