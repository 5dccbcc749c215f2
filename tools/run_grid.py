"""Run an experiment grid: ``python tools/run_grid.py GRID.py``.

The grid file names the axes by config bases (``mmccr/apis/grid.py``
explains the format; examples under ``configs/grids/``). Every cell is
checked before the first run; finished runs in the results store
(``<work_dir>/results.jsonl``) are skipped, failed runs are recorded and
the grid goes on. ``--emit slurm|torchrun`` writes one command per run
instead of running. Render the store with
``tools/analysis_tools/make_tables.py``.
"""
import argparse
import sys

from mmengine.config import DictAction
from rich.console import Console

from mmccr.apis.grid import GridError, load_grid
from mmccr.apis.grid_runner import Options, emit, prepare, run_grid


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('grid', help='grid file (configs/grids/*.py)')
    parser.add_argument('--work-dir', help="overrides the grid's work_dir")
    parser.add_argument('--rerun', action='store_true',
                        help='run finished runs again')
    parser.add_argument('--rerun-failed', action='store_true',
                        help='run failed runs again')
    parser.add_argument('--stop-on-failure', action='store_true',
                        help='stop at the first failed run')
    parser.add_argument('--only', nargs='+', default=(), metavar='RUN',
                        help='run ids to run (as listed by --list)')
    parser.add_argument('--seeds', nargs='+', type=int,
                        help="only these of the grid's seeds (the store "
                        'keeps the others for a later call)')
    parser.add_argument('--list', action='store_true',
                        help='print the run ids and their trainers; run '
                        'nothing')
    parser.add_argument('--emit', choices=['slurm', 'torchrun'],
                        help='write one command per run (under WORK_DIR/'
                        'emit_<kind>/) instead of running')
    parser.add_argument('--plots', action='store_true',
                        help='reliability diagrams under each run\'s plots/')
    parser.add_argument('--verbose', action='store_true',
                        help="keep the runs' INFO logs")
    parser.add_argument('--launcher', default='none',
                        choices=['none', 'pytorch', 'slurm'],
                        help='distributed launcher of each run')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='overrides applied to every run (after the '
                        "grid's own)")
    return parser


def main(argv=None) -> int:
    """Run (or emit) the grid; exit status 1 when a run failed."""
    args = build_parser().parse_args(argv)
    console = Console()
    if not console.is_terminal:
        console.width = 200
    try:
        grid = load_grid(args.grid, args.work_dir)
        if args.seeds:
            unknown = sorted(set(args.seeds) - set(grid.seeds))
            if unknown:
                raise GridError(f'--seeds {unknown}: not among the grid\'s '
                                f'seeds {grid.seeds}')
            grid.seeds = [s for s in grid.seeds if s in args.seeds]
        plan = prepare(grid, args.cfg_options)
    except GridError as e:
        console.print(f'[red]grid error[/] {e}', highlight=False,
                      markup=True)
        return 2
    if args.list:
        for run in plan.runs:
            after = f'  (tests the checkpoint of {run.trainer})' \
                if run.trainer else ''
            console.print(run.id + after, highlight=False, markup=False)
        return 0
    if args.emit:
        extra = ['--work-dir', grid.work_dir]
        for path in emit(grid, plan, args.emit, args.grid, extra=extra):
            console.print(f'written {path}')
        return 0
    options = Options(rerun=args.rerun, rerun_failed=args.rerun_failed,
                      stop_on_failure=args.stop_on_failure, only=args.only,
                      extra_options=args.cfg_options or {},
                      quiet=not args.verbose, plots=args.plots,
                      launcher=args.launcher)
    try:
        summary = run_grid(grid, plan, options, console)
    except GridError as e:
        console.print(f'[red]grid error[/] {e}', highlight=False, markup=True)
        return 2
    console.print(f'{len(summary.done)} run, {len(summary.skipped)} already '
                  f'finished, {len(summary.failed)} failed, '
                  f'{len(summary.failed_before)} failed before (not rerun), '
                  f'{len(summary.busy)} left to another process')
    return 1 if summary.failed else 0


if __name__ == '__main__':
    sys.exit(main())
