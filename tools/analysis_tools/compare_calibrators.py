"""Compare calibrators (or any configs) in the papers' table layout.

``python tools/analysis_tools/compare_calibrators.py CONFIG [CONFIG ...]``

A thin case of the grid runner (``tools/run_grid.py``): the configs are the
cells of a grid (``configs=``), run once per ``--seeds`` value into the
results store ``WORK_DIR/results.jsonl`` (finished runs are skipped; a
config that differs from another only in post-hoc calibrators tests that
one's checkpoint). Prints ECE, ACE, MCE and PIECE for Base / New / HM
(×10⁻², mean ± std over seeds), with the evaluation conventions of the
runs under the table, and writes ``comparison.md`` and ``comparison.csv``
to the work directory.
"""
import argparse
import os.path as osp
from typing import Dict, List

from mmengine.config import Config, DictAction
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mmccr.apis.grid import GridError, grid_from_config
from mmccr.apis.grid_runner import Options, prepare, run_grid, store_path
from mmccr.apis.store import read_store
from mmccr.evaluation.comparison import (
    cell_text,
    comparison_rows,
    table_columns,
    to_csv,
    to_markdown,
)
from mmccr.evaluation.conventions import (
    item_label,
    shared_conventions,
)
from mmccr.utils.io import atomic_write_bytes


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--names', nargs='+',
                        help='row labels (default: the config file names); '
                        'they also name the run folders')
    parser.add_argument('--work-dir', default='work_dirs/compare',
                        help='runs go to WORK_DIR/runs/<name>/seed<s>/, '
                        'their records to WORK_DIR/results.jsonl')
    parser.add_argument('--seeds', nargs='+', type=int, default=[1],
                        help='few-shot and training seeds (default: 1)')
    parser.add_argument('--metrics', nargs='+',
                        default=['ECE', 'ACE', 'MCE', 'PIECE'],
                        help="metric names, bare ('ECE') or prefixed "
                        "('recog/mAP'); 'NAME:g1,g2' limits the groups")
    parser.add_argument('--groups', nargs='+', default=['base', 'new', 'HM'],
                        help='class groups (columns under each metric)')
    parser.add_argument('--plots', action='store_true',
                        help='reliability diagrams (PNG) of each test run in '
                        'its work dir, under plots/')
    parser.add_argument('--rerun', action='store_true',
                        help='run finished runs again (failed ones always '
                        'are)')
    parser.add_argument('--verbose', action='store_true',
                        help='keep the runs\' INFO logs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides applied to every config')
    return parser


def run_all(args: argparse.Namespace, console: Console) -> tuple:
    """Run the configs as a grid; the metrics of every finished run and
    the conventions, by row name."""
    stems = [osp.splitext(osp.basename(c))[0] for c in args.configs]
    names: List[str] = args.names or stems
    if len(names) != len(args.configs) or len(set(names)) != len(names):
        raise SystemExit(f'--names needs {len(args.configs)} distinct names, '
                         f'got {names}')
    spec = Config(dict(configs=dict(zip(names, args.configs, strict=True)),
                       seeds=args.seeds, cfg_options=args.cfg_options or {}))
    try:
        grid = grid_from_config(spec, 'compare', args.work_dir,
                                source='compare_calibrators.py')
        plan = prepare(grid)
        run_grid(grid, plan, Options(rerun=args.rerun, rerun_failed=True,
                                     quiet=not args.verbose,
                                     plots=args.plots), console)
    except GridError as e:
        raise SystemExit(str(e)) from None
    latest = read_store(store_path(grid)).latest()
    runs: Dict[str, list] = {name: [] for name in names}
    conventions: Dict[str, list] = {}
    for run in grid.runs():
        record = latest.get(run.id)
        if record is not None and record['status'] == 'done':
            name = run.cell.labels['config']
            runs[name].append(record['metrics'])
            conventions.setdefault(name, record['conventions'])
    return runs, conventions


def main() -> None:
    args = build_parser().parse_args()
    console = Console()
    if not console.is_terminal:  # logs and CI: do not squeeze the table
        console.width = 200
    runs, conventions = run_all(args, console)
    rows = comparison_rows(runs, args.metrics, args.groups)
    notes = shared_conventions(conventions)
    seeds = ', '.join(map(str, args.seeds))
    table = Table(title=f'×10⁻², seeds {seeds}',
                  caption=escape('\n'.join(notes)) or None,
                  caption_justify='left')
    table.add_column('Method')
    for metric, group in table_columns(args.metrics, args.groups):
        table.add_column(escape(f'{item_label(metric)} {group}'),
                         justify='right')
    for method, cells in cell_text(rows, args.metrics, args.groups).items():
        table.add_row(method, *cells)
    console.print(table)
    for ext, text in (('md', to_markdown(rows, args.metrics, args.groups,
                                         notes=notes)),
                      ('csv', to_csv(rows, args.metrics, args.groups))):
        path = osp.join(args.work_dir, f'comparison.{ext}')
        atomic_write_bytes(path, text.encode('utf-8'))
        console.print(f'written {path}')


if __name__ == '__main__':
    main()
