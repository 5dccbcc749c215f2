"""What every figure tool of ``tools/analysis_tools`` shares: picking the
finished runs of a grid store and writing a PNG with the CSVs behind it."""
import argparse
import os.path as osp
from typing import Dict, List, Sequence

from mmccr.utils.io import atomic_write_bytes
from mmccr.visualization.figures import rows_to_csv, save_png

from .store import select_records


def figure_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the arguments of every figure tool: ``store``,
    ``--runs``, ``--seed`` and ``--out-dir``; tools add their own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('store', help='results.jsonl of tools/run_grid.py')
    parser.add_argument('--runs', nargs='+', default=(),
                        help='run ids (default: every run of --seed)')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--out-dir',
                        help='default: figures/ beside the store')
    return parser


def figure_records(args: argparse.Namespace) -> List[dict]:
    """The store's finished runs the arguments select; exits if none."""
    records = select_records(args.store, args.runs, args.seed)
    if not records:
        raise SystemExit(f'{args.store}: no finished runs of seed '
                         f'{args.seed}')
    return records


def write_figure(args: argparse.Namespace, figure, png_name: str,
                 tables: Dict[str, Sequence[dict]]) -> List[str]:
    """Save ``figure`` and each table (CSV name → rows) under ``--out-dir``
    (default: ``figures/`` beside the store); print and return the paths,
    the PNG first."""
    out_dir = args.out_dir or osp.join(osp.dirname(osp.abspath(args.store)),
                                       'figures')
    paths = [osp.join(out_dir, png_name)]
    save_png(figure, paths[0])
    for name, rows in tables.items():
        paths.append(osp.join(out_dir, name))
        atomic_write_bytes(paths[-1], rows_to_csv(list(rows)).encode('utf-8'))
    for path in paths:
        print(f'written {path}')
    return paths
