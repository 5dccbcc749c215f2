"""Embedding Divergence and NP@K per class against calibration (Fig. 3).

``python tools/analysis_tools/embedding_divergence.py STORE [--runs ID ...]``

For each finished run of a grid store (default: every run of ``--seed``),
the run's model is rebuilt with its trained prompts and, for every test
class, ED = 1 − cos(tuned, zero-shot text embedding) and NP@K (the share of
its K zero-shot nearest classes kept in the tuned space; definitions in
``mmccr/evaluation/geometry.py``) are plotted against the class's signed
calibration gap (conf − acc, from the run's test results), base and new
classes coloured. Writes ``divergence.png`` and ``divergence.csv``.
"""
import argparse
import math
import tempfile

from mmccr.apis.figure_tools import figure_parser, figure_records, write_figure
from mmccr.apis.run_model import load_run_model, text_features
from mmccr.apis.store import record_name
from mmccr.evaluation.geometry import (
    embedding_divergence,
    neighbourhood_preservation,
)
from mmccr.visualization.figures import plot_divergence


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = figure_parser(__doc__.split('\n')[0])
    parser.add_argument('--k', type=int, default=5, help='K of NP@K')
    return parser


def class_rows(record: dict, k: int, scratch: str) -> list:
    """One row per test class of a run: group, ED, NP@K, signed gap."""
    model, _, results = load_run_model(record, scratch)
    features = text_features(model)
    ed = embedding_divergence(features['zero_shot'], features['tuned'])
    npk = neighbourhood_preservation(features['zero_shot'],
                                     features['tuned'], k)
    groups = results.get('groups') or {}
    gaps = results.get('per_class', {}).get('calib/Gap')
    if gaps is None:
        raise SystemExit(f'{record["results_file"]}: no per-class calib/Gap '
                         "(add 'Gap' to the calibration metric's items; the "
                         "paper preset's top-1 reading has no per-class "
                         'values: configs/grids/paper_figures.py)')
    rows = []
    for i, name in enumerate(results['classes']):
        group = 'base' if i in groups.get('base', ()) else 'new'
        gap = math.nan if gaps[i] is None else gaps[i]
        rows.append(dict(run=record['run'], name=record_name(record),
                         class_name=name, group=group, ED=float(ed[i]),
                         **{'NP@K': float(npk[i])}, gap=100 * gap))
    return rows


def main(argv=None) -> list:
    """Write the figure and its CSV; return their paths."""
    args = build_parser().parse_args(argv)
    records = figure_records(args)
    with tempfile.TemporaryDirectory() as scratch:
        runs = [dict(name=record_name(r), rows=class_rows(r, args.k, scratch))
                for r in records]
    return write_figure(args, plot_divergence(runs, args.k), 'divergence.png',
                        {'divergence.csv': [row for run in runs
                                            for row in run['rows']]})


if __name__ == '__main__':
    main()
