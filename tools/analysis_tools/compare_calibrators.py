"""Compare calibrators (or any configs) in the papers' table layout.

``python tools/analysis_tools/compare_calibrators.py CONFIG [CONFIG ...]``

Each config (e.g. one learner × several calibrators on one dataset) is
trained, when it trains, and tested, once per ``--seeds`` value; finished
runs under ``--work-dir`` are read back instead of rerun. Prints ECE, ACE,
MCE and PIECE for Base / New / HM (×10⁻², mean ± std over seeds), with the
evaluation conventions of the configs' test evaluators under the table, and
writes ``comparison.md`` and ``comparison.csv`` to the work directory.
"""
import argparse
import os.path as osp
from typing import List

from mmengine.config import DictAction
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from mmccr.apis import run_config, seeded_config
from mmccr.evaluation.comparison import (
    cell_text,
    comparison_rows,
    table_columns,
    to_csv,
    to_markdown,
)
from mmccr.evaluation.conventions import (
    config_conventions,
    item_label,
    shared_conventions,
)
from mmccr.utils.io import atomic_write_bytes


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--names', nargs='+',
                        help='row labels (default: the config file names, '
                        'which also name the run folders)')
    parser.add_argument('--work-dir', default='work_dirs/compare',
                        help='runs go to WORK_DIR/<config name>/seed<s>/')
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
                        help='ignore finished runs')
    parser.add_argument('--verbose', action='store_true',
                        help='keep the runs\' INFO logs')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides applied to every config')
    return parser


def run_all(args: argparse.Namespace, console: Console) -> tuple:
    """Metrics of every (config, seed) run, and the conventions, by row
    name."""
    stems = [osp.splitext(osp.basename(c))[0] for c in args.configs]
    names: List[str] = args.names or stems
    if len(names) != len(args.configs) or len(set(names)) != len(names):
        raise SystemExit(f'--names needs {len(args.configs)} distinct names, '
                         f'got {names}')
    if len(set(stems)) != len(stems):
        raise SystemExit(f'config file names must differ, got {stems}')
    runs, conventions = {}, {}
    columns = (TextColumn('{task.description}'), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        for name, stem, config in zip(names, stems, args.configs,
                                      strict=True):
            runs[name] = []
            for seed in args.seeds:
                work_dir = osp.join(args.work_dir, stem, f'seed{seed}')
                cfg = seeded_config(
                    config, work_dir, seed, args.cfg_options,
                    quiet=not args.verbose,
                    plot_dir=osp.join(work_dir, 'plots')
                    if args.plots else None)
                runs[name].append(
                    run_config(cfg, progress, f'{name} seed {seed}',
                               args.rerun))
            conventions[name] = config_conventions(cfg.test_evaluator)
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
