"""Per-class signed calibration gap and ECE by class group (Fig. 2).

``python tools/analysis_tools/calibration_gap.py STORE [--runs ID ...]``

For each finished run of a grid store (default: every run of ``--seed``):
a bar per test class of its signed calibration gap (conf − acc, from the
run's per-class test results; base classes blue, new orange), and grouped
bars of the ECE of head / medium / tail / new classes (``--groups``) per
run, from the stored metrics. Writes ``calibration_gap.png``,
``calibration_gap.csv`` (per class) and ``group_ece.csv``.
"""
import argparse
import json
import math
import os.path as osp

from mmccr.apis.store import record_name, select_records
from mmccr.evaluation.comparison import metric_key
from mmccr.utils.io import atomic_write_bytes
from mmccr.visualization.figures import (
    plot_calibration_gap,
    rows_to_csv,
    save_png,
)


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('store', help='results.jsonl of tools/run_grid.py')
    parser.add_argument('--runs', nargs='+', default=(),
                        help='run ids (default: every run of --seed)')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--groups', nargs='+',
                        default=['head', 'medium', 'tail', 'new'],
                        help='class groups of the ECE bars')
    parser.add_argument('--out-dir',
                        help='default: figures/ beside the store')
    return parser


def run_data(record: dict, groups) -> dict:
    """Per-class gaps and group ECEs (×10⁻²) of a run."""
    with open(record['results_file'], encoding='utf-8') as f:
        results = json.load(f)
    gaps = results.get('per_class', {}).get('calib/Gap')
    if gaps is None:
        raise SystemExit(f'{record["results_file"]}: no per-class calib/Gap '
                         "(add 'Gap' to the calibration metric's items; the "
                         "paper preset's top-1 reading has no per-class "
                         'values: configs/grids/paper_figures.py)')
    base = set(results.get('groups', {}).get('base', []))
    classes = results['classes']
    ece = {}
    for group in groups:
        key = metric_key(record['metrics'], 'ECE', group)
        value = record['metrics'].get(key) if key else None
        ece[group] = math.nan if value is None else 100 * value
    return dict(name=record_name(record), classes=classes,
                class_groups={c: 'base' if i in base else 'new'
                              for i, c in enumerate(classes)},
                gap=[math.nan if g is None else 100 * g for g in gaps],
                ece=ece)


def main(argv=None) -> list:
    """Write the figure and its CSVs; return their paths."""
    args = build_parser().parse_args(argv)
    records = select_records(args.store, args.runs, args.seed)
    if not records:
        raise SystemExit(f'{args.store}: no finished runs of seed '
                         f'{args.seed}')
    runs = [run_data(r, args.groups) for r in records]
    out_dir = args.out_dir or osp.join(osp.dirname(osp.abspath(args.store)),
                                       'figures')
    paths = [osp.join(out_dir, f) for f in (
        'calibration_gap.png', 'calibration_gap.csv', 'group_ece.csv')]
    save_png(plot_calibration_gap(runs, args.groups), paths[0])
    per_class = [dict(run=run['name'], class_name=c,
                      group=run['class_groups'][c], gap=g)
                 for run in runs
                 for c, g in zip(run['classes'], run['gap'], strict=True)]
    per_group = [dict(run=run['name'], group=g, ECE=run['ece'][g])
                 for run in runs for g in args.groups]
    for path, rows in zip(paths[1:], (per_class, per_group), strict=True):
        atomic_write_bytes(path, rows_to_csv(rows).encode('utf-8'))
    for path in paths:
        print(f'written {path}')
    return paths


if __name__ == '__main__':
    main()
