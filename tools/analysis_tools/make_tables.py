"""Render a grid's results store as the paper's tables.

``python tools/analysis_tools/make_tables.py STORE --table 1 [2 ...]``

``STORE`` is the ``results.jsonl`` of ``tools/run_grid.py`` (or the grid's
work dir). Each table is written as Markdown, CSV and LaTeX (booktabs),
plus the paired tests as CSV, to ``--out-dir`` (default: ``tables/``
beside the store), and printed. Values are ×10⁻², mean ± sample std over
seeds; missing runs are shown as missing; corrupt store lines are reported
and skipped. Layouts: ``mmccr/evaluation/paper_tables.py``.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from mmccr.apis.store import read_store
from mmccr.evaluation.paper_tables import (
    LAYOUTS,
    Table,
    build_table,
    cells,
    column_label,
    row_label,
    tests_csv,
    to_csv,
    to_latex,
    to_markdown,
)
from mmccr.utils.io import atomic_write_bytes


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('store', help='results.jsonl (or its folder)')
    parser.add_argument('--table', nargs='+', type=int, default=[1],
                        choices=sorted(LAYOUTS), help='paper table numbers')
    parser.add_argument('--metrics', nargs='+',
                        help="replace the layout's metrics (bare names, "
                        "e.g. ECE recog/mAP; 'a|b' = first present)")
    parser.add_argument('--groups', nargs='+',
                        help="replace the layout's class groups (MEAN = Avg "
                        'or HM, see --mean)')
    parser.add_argument('--mean', choices=['Avg', 'HM'],
                        help='base/new mean column (default: Avg for the '
                        'paper preset, else HM)')
    parser.add_argument('--datasets', nargs='+',
                        help='dataset labels (of --column-axis) to include '
                        '(default: all)')
    parser.add_argument('--pair', nargs=2, default=['none', 'ccr'],
                        metavar=('BASELINE', 'METHOD'),
                        help='calibrator labels compared by the paired test '
                        '(default: none ccr)')
    parser.add_argument('--pair-axis', default='calibrators',
                        help='the axis the --pair labels belong to')
    parser.add_argument('--column-axis', default='datasets',
                        help='Table 5: the axis whose labels are the columns '
                        "(e.g. 'target' of configs/grids/paper_dg.py)")
    parser.add_argument('--names', nargs='+', metavar='OLD=NEW',
                        help='rename rows, e.g. CoOp/none=CoOp')
    parser.add_argument('--out-dir', help='default: tables/ beside the store')
    parser.add_argument('--stem', default='table',
                        help='file names <stem><N>.{md,csv,tex}')
    return parser


def show(table: Table, console: Console) -> None:
    """Print a table with rich (best in bold)."""
    view = RichTable(title=escape(table.title),
                     caption=escape('\n'.join(table.notes)),
                     caption_justify='left')
    view.add_column('Method')
    for column in table.columns:
        view.add_column(escape(column_label(column)), justify='right')
    for block, rows in cells(table).items():
        if block:
            view.add_row(f'[italic]{escape(block)}[/]')
        for row, entries in rows.items():
            view.add_row(escape(row), *[
                f'[bold]{escape(t)}[/]' if best else escape(t)
                for t, best, *_ in entries])
    console.print(view)
    for test in table.tests:
        console.print(f'{test["pair"]}, {test["column"]}: Δ '
                      f'{test["mean_diff"]:+.2f}, p {test["p"]:.4f} '
                      f'(n {test["n_pairs"]})', highlight=False, markup=False)


def main(argv: Optional[List[str]] = None) -> int:
    """Write the tables; return the exit status."""
    args = build_parser().parse_args(argv)
    console = Console()
    if not console.is_terminal:  # logs and CI: do not squeeze the table
        console.width = 200
    store = args.store
    if osp.isdir(store):
        store = osp.join(store, 'results.jsonl')
    if not osp.isfile(store):
        console.print(f'no results store {store}; run tools/run_grid.py '
                      'first', markup=False)
        return 2
    content = read_store(store)
    for problem in content.problems:
        console.print(problem, style='yellow', markup=False)
    latest = content.latest().values()
    records = [r for r in latest if r['status'] == 'done' and (
        not args.datasets or r['cell'].get(args.column_axis)
        in args.datasets)]
    failed = [r['run'] for r in latest if r['status'] != 'done']
    renames = dict(n.split('=', 1) for n in args.names or [])
    axis = args.column_axis
    for record in records:
        label = row_label(record['cell'], axis)
        if label in renames:  # one label: keep the dataset, rename the rest
            block = record['cell'].get(axis)
            record['cell'] = dict({axis: block} if block else {},
                                  method=renames[label])
    if not records:
        console.print(f'{store}: no finished runs', markup=False)
        return 1
    out_dir = args.out_dir or osp.join(osp.dirname(osp.abspath(store)),
                                       'tables')
    for number in args.table:
        table = build_table(records, LAYOUTS[number], args.metrics,
                            args.groups, args.mean, tuple(args.pair),
                            args.pair_axis, failed, args.column_axis)
        show(table, console)
        outputs = {'md': to_markdown(table), 'csv': to_csv(table),
                   'tex': to_latex(table)}
        if table.tests:
            outputs['tests.csv'] = tests_csv(table)
        for ext, text in outputs.items():
            path = osp.join(out_dir, f'{args.stem}{number}.{ext}')
            atomic_write_bytes(path, text.encode('utf-8'))
            console.print(f'written {path}', markup=False)
    return 0


if __name__ == '__main__':
    sys.exit(main())
