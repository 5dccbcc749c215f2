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
import os.path as osp
import tempfile

from mmccr.apis.run_model import load_run_model, text_features
from mmccr.apis.store import record_name, select_records
from mmccr.evaluation.geometry import (
    embedding_divergence,
    neighbourhood_preservation,
)
from mmccr.utils.io import atomic_write_bytes
from mmccr.visualization.figures import plot_divergence, rows_to_csv, save_png


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('store', help='results.jsonl of tools/run_grid.py')
    parser.add_argument('--runs', nargs='+', default=(),
                        help='run ids (default: every run of --seed)')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--k', type=int, default=5, help='K of NP@K')
    parser.add_argument('--out-dir',
                        help='default: figures/ beside the store')
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
    records = select_records(args.store, args.runs, args.seed)
    if not records:
        raise SystemExit(f'{args.store}: no finished runs of seed '
                         f'{args.seed}')
    out_dir = args.out_dir or osp.join(osp.dirname(osp.abspath(args.store)),
                                       'figures')
    with tempfile.TemporaryDirectory() as scratch:
        runs = [dict(name=record_name(r), rows=class_rows(r, args.k, scratch))
                for r in records]
    csv_path = osp.join(out_dir, 'divergence.csv')
    atomic_write_bytes(csv_path, rows_to_csv(
        [row for run in runs for row in run['rows']]).encode('utf-8'))
    png_path = osp.join(out_dir, 'divergence.png')
    save_png(plot_divergence(runs, args.k), png_path)
    for path in (png_path, csv_path):
        print(f'written {path}')
    return [png_path, csv_path]


if __name__ == '__main__':
    main()
