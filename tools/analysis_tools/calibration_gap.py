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

from mmccr.apis.figure_tools import figure_parser, figure_records, write_figure
from mmccr.apis.store import record_name
from mmccr.evaluation.comparison import metric_key
from mmccr.visualization.figures import plot_calibration_gap


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = figure_parser(__doc__.split('\n')[0])
    parser.add_argument('--groups', nargs='+',
                        default=['head', 'medium', 'tail', 'new'],
                        help='class groups of the ECE bars')
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
    records = figure_records(args)
    runs = [run_data(r, args.groups) for r in records]
    per_class = [dict(run=run['name'], class_name=c,
                      group=run['class_groups'][c], gap=g)
                 for run in runs
                 for c, g in zip(run['classes'], run['gap'], strict=True)]
    per_group = [dict(run=run['name'], group=g, ECE=run['ece'][g])
                 for run in runs for g in args.groups]
    return write_figure(args, plot_calibration_gap(runs, args.groups),
                        'calibration_gap.png',
                        {'calibration_gap.csv': per_class,
                         'group_ece.csv': per_group})


if __name__ == '__main__':
    main()
