"""Run a grid (:mod:`mmccr.apis.grid`) into its results store, or emit one
command per run for a cluster.

Every run is validated before the first one starts (:func:`prepare`).
Runs execute sequentially through :func:`mmccr.apis.runs.execute` (the
machinery behind every mmccr comparison); a finished run is skipped, a
failed one is recorded with its error and the grid goes on, unless asked to
stop. A run whose config differs from its training run only in post-hoc
calibrators tests that run's checkpoint instead of training again.
"""
import os
import os.path as osp
import shlex
import socket
import time
import traceback
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from mmccr.utils.digest import config_sha256

from .grid import Grid, GridError, Run, check_run, compose, plan_runs
from .store import append_record, read_store, run_lock, versions

#: The store's file name in the grid's work dir.
STORE = 'results.jsonl'


def store_path(grid: Grid) -> str:
    """``<work_dir>/results.jsonl``."""
    return osp.join(grid.work_dir, STORE)


def run_dir(grid: Grid, run: Run) -> str:
    """``<work_dir>/runs/<run id>``."""
    return osp.join(grid.work_dir, 'runs', run.id)


@dataclass
class Plan:
    """The validated runs of a grid.

    Attributes:
        runs (list[Run]): trainers first (:func:`plan_runs`).
        configs (dict): run id → composed config.
        digests (dict): run id → config digest (``config_sha256``).
    """
    runs: List[Run]
    configs: Dict[str, Config]
    digests: Dict[str, str]


def prepare(grid: Grid, extra_options: Optional[dict] = None) -> Plan:
    """Compose and check every run; raise once, listing every bad cell.

    Raises:
        GridError: one line per bad cell (seeds do not repeat a cell).
    """
    configs, bad, loaded = {}, dict(grid.bad), {}
    for run in grid.runs():
        if run.cell.name in bad:
            continue
        try:
            if run.cell.name not in loaded:  # once per cell, not per seed
                loaded[run.cell.name] = Config.fromfile(run.cell.config)
            cfg = compose(run, extra_options, loaded[run.cell.name])
            problems = check_run(run, cfg)
        except Exception as e:  # noqa: BLE001 -- listed, not raised one by one
            problems = [f'{type(e).__name__}: {e}']
        if problems:
            bad[run.cell.name] = problems
        else:
            configs[run.id] = cfg
    if bad:
        files = {c.name: f' ({c.config})' for c in grid.cells}
        lines = [f'{name}{files.get(name, "")}: ' + '; '.join(problems)
                 for name, problems in bad.items()]
        total = len(grid.cells) + len(grid.bad)
        raise GridError(f'{grid.source}: {len(bad)} of {total} cells cannot '
                        'run (nothing was run):\n  ' + '\n  '.join(lines))
    runs = plan_runs(grid.runs(), configs)
    return Plan(runs, configs,
                {rid: config_sha256(cfg) for rid, cfg in configs.items()})


@dataclass
class Options:
    """How :func:`run_grid` treats runs.

    Attributes:
        rerun (bool): run finished runs again.
        rerun_failed (bool): run failed runs again.
        stop_on_failure (bool): stop the grid at the first failure.
        only (list[str]): run ids to consider (default: all).
        extra_options (dict): ``--cfg-options`` for every run.
        quiet (bool): runs log warnings only.
        plots (bool): reliability diagrams under each run's ``plots/``.
        launcher (str): ``none`` or a distributed launcher.
    """
    rerun: bool = False
    rerun_failed: bool = False
    stop_on_failure: bool = False
    only: Sequence[str] = ()
    extra_options: dict = field(default_factory=dict)
    quiet: bool = True
    plots: bool = False
    launcher: str = 'none'


def state(plan: Plan, run: Run, latest: Dict[str, dict],
          options: Options) -> str:
    """``'todo'``, ``'done'`` (finished, same config) or ``'failed'``
    (failed with the same config, not to be rerun). A run that tests
    another run's checkpoint is ``'todo'`` again once that run has a newer
    record (it was rerun)."""
    record = latest.get(run.id)
    if record is None or record.get('config_digest') != plan.digests[run.id]:
        return 'todo'
    if run.trainer is not None and record.get('trainer_record') != \
            (latest.get(run.trainer) or {}).get('record_id'):
        return 'todo'
    if record['status'] == 'done':
        return 'todo' if options.rerun else 'done'
    return 'todo' if options.rerun_failed or options.rerun else 'failed'


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec='seconds')


def _results_file(work_dir: str) -> Optional[str]:
    """The newest test results JSON of the evaluation report hook."""
    found = [osp.join(work_dir, f) for f in os.listdir(work_dir)
             if f.endswith('_results.json') and 'test_' in f] \
        if osp.isdir(work_dir) else []
    return max(found, key=osp.getmtime) if found else None


def _last_checkpoint(work_dir: str) -> Optional[str]:
    path = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return f.read().strip() or None


def execute_run(grid: Grid, plan: Plan, run: Run, latest: Dict[str, dict],
                options: Options, progress: Optional[Progress]) -> dict:
    """Run one run; return its record (``done`` or ``failed``)."""
    from mmccr.evaluation.conventions import config_conventions

    from .grid import run_config_of
    from .runs import execute
    work_dir = run_dir(grid, run)
    record = dict(run=run.id, record_id=uuid.uuid4().hex,
                  cell=dict(run.cell.labels), seed=run.seed,
                  config=run.cell.config, cfg_options=run.cell.cfg_options,
                  extra_options=options.extra_options,
                  config_digest=plan.digests[run.id], trainer=run.trainer,
                  work_dir=work_dir, started=_now(), host=socket.gethostname(),
                  versions=versions())
    start = time.perf_counter()
    try:
        cfg = run_config_of(run, work_dir, options.extra_options,
                            quiet=options.quiet,
                            plot_dir=osp.join(work_dir, 'plots')
                            if options.plots else None)
        cfg.launcher = options.launcher
        checkpoint = None
        if run.trainer is not None:
            trained = latest.get(run.trainer)
            record['trainer_record'] = (trained or {}).get('record_id')
            if trained is None or trained['status'] != 'done':
                raise RuntimeError(
                    f'its training run {run.trainer} has not finished '
                    f'({"failed" if trained else "not run"}); run it first')
            checkpoint = trained.get('checkpoint')
            if not checkpoint or not osp.isfile(checkpoint):
                raise RuntimeError(
                    f'the checkpoint {checkpoint} of its training run '
                    f'{run.trainer} is missing; rerun that run (--only '
                    f'{run.trainer} --rerun)')
            cfg.load_from = checkpoint
        metrics = execute(cfg, progress, run.id, train=run.trainer is None)
        if run.trainer is None and cfg.get('train_cfg'):
            checkpoint = _last_checkpoint(work_dir)
        record.update(status='done', metrics=metrics,
                      conventions=config_conventions(cfg.test_evaluator),
                      checkpoint=checkpoint,
                      results_file=_results_file(work_dir))
    except Exception as e:  # noqa: BLE001 -- recorded; the grid goes on
        record.update(status='failed', error=f'{type(e).__name__}: {e}',
                      traceback=traceback.format_exc()[-4000:])
    record.update(finished=_now(),
                  wall_time_s=round(time.perf_counter() - start, 3))
    return record


@dataclass
class Summary:
    """What :func:`run_grid` did (run ids)."""
    done: List[str] = field(default_factory=list)
    failed: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)
    failed_before: List[str] = field(default_factory=list)
    busy: List[str] = field(default_factory=list)


def run_grid(grid: Grid, plan: Plan, options: Options,
             console: Optional[Console] = None) -> Summary:
    """Run the plan's runs that are not finished, into the store.

    Args:
        grid (Grid): the grid.
        plan (Plan): from :func:`prepare`.
        options (Options): what to rerun, stop, show.
        console (rich.console.Console, optional): output.

    Returns:
        Summary: run ids by outcome.
    """
    console = console or Console()
    store = store_path(grid)
    content = read_store(store)
    for problem in content.problems:
        console.print(f'[yellow]{problem}[/]', highlight=False)
    latest = content.latest()
    summary = Summary()
    runs = [r for r in plan.runs if not options.only or r.id in options.only]
    unknown = set(options.only) - {r.id for r in plan.runs}
    if unknown:
        raise GridError(f'--only: no run {sorted(unknown)} in {grid.source}')
    todo = []
    for run in runs:
        now = state(plan, run, latest, options)
        if now == 'done':
            summary.skipped.append(run.id)
        elif now == 'failed':
            summary.failed_before.append(run.id)
        else:
            todo.append(run)
    rank0 = int(os.environ.get('RANK', '0')) == 0
    columns = (TextColumn('{task.description}'), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    console.print(f'{grid.name}: {len(runs)} runs, {len(summary.skipped)} '
                  f'finished, {len(summary.failed_before)} failed before '
                  f'(--rerun-failed), {len(todo)} to run; store {store}')
    with Progress(*columns, console=console) as progress:
        overall = progress.add_task(f'{grid.name} runs', total=len(todo))
        for run in todo:
            lock = run_lock(store, run.id) if rank0 else nullcontext(True)
            with lock as mine:
                if not mine:
                    summary.busy.append(run.id)
                    console.print(f'{run.id}: another process runs it; left '
                                  'to it')
                    progress.advance(overall)
                    continue
                latest = read_store(store).latest()  # it may have finished
                if state(plan, run, latest, options) == 'done' \
                        and not options.rerun:
                    summary.skipped.append(run.id)
                    progress.advance(overall)
                    continue
                record = execute_run(grid, plan, run, latest, options,
                                     progress)
                for task in list(progress.tasks):  # keep the view short
                    if task.id != overall:
                        progress.remove_task(task.id)
                if rank0:
                    append_record(store, record)
            progress.advance(overall)
            wall = f'{record["wall_time_s"]:.1f} s'
            if record['status'] == 'done':
                summary.done.append(run.id)
                console.print(f'[green]done[/] {run.id} ({wall})',
                              highlight=False)
            else:
                summary.failed.append(run.id)
                console.print(f'[red]failed[/] {run.id} ({wall}): '
                              f'{record["error"]}', highlight=False,
                              markup=True)
                if options.stop_on_failure:
                    console.print('stopping (--stop-on-failure)')
                    break
    return summary


#: Shell lines of an emitted job script, by kind.
SLURM_HEADER = """#!/usr/bin/env bash
#SBATCH --job-name={name}
#SBATCH --array=1-{count}
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --output={log_dir}/%A_%a.out
# One grid run per array task (line $SLURM_ARRAY_TASK_ID of {commands}).
# Adjust the resources above to the cluster; submit.sh orders the arrays.
set -euo pipefail
cd {cwd}  # the commands' paths are relative to where they were emitted
eval "$(sed -n "${{SLURM_ARRAY_TASK_ID}}p" {commands})"
"""


def run_command(grid_file: str, run: Run, kind: str,
                extra: Sequence[str] = ()) -> str:
    """The shell command that runs one run of a grid."""
    tool = ['tools/run_grid.py', grid_file, '--only', run.id, *extra]
    if kind == 'torchrun':  # GPUS is read when the line runs
        return 'torchrun --nproc_per_node="${GPUS:-1}" ' + shlex.join(
            [*tool, '--launcher', 'pytorch'])
    return shlex.join(['python', *tool])


def emit(grid: Grid, plan: Plan, kind: str, grid_file: str,
         out_dir: Optional[str] = None,
         extra: Sequence[str] = ()) -> List[str]:
    """Write one command per run, training runs and the runs that test
    their checkpoints in separate files.

    ``kind='slurm'``: ``train.txt``/``test.txt`` (commands),
    ``train.sbatch``/``test.sbatch`` (array jobs, one run per task) and
    ``submit.sh`` (submits the second array after the first). ``kind=
    'torchrun'``: the command files and ``run_all.sh`` (sequential).

    Returns:
        list[str]: the written files.
    """
    from mmccr.utils.io import atomic_write_bytes
    if kind not in ('slurm', 'torchrun'):
        raise ValueError(f"--emit: expected 'slurm' or 'torchrun', got "
                         f'{kind!r}')
    out_dir = out_dir or osp.join(grid.work_dir, f'emit_{kind}')
    stages = {'train': [r for r in plan.runs if r.trainer is None],
              'test': [r for r in plan.runs if r.trainer is not None]}
    written = []

    def write(name: str, text: str, mode: int = 0o644) -> None:
        path = osp.join(out_dir, name)
        atomic_write_bytes(path, text.encode('utf-8'))
        os.chmod(path, mode)
        written.append(path)

    for stage, runs in stages.items():
        if not runs:
            continue
        commands = osp.join(out_dir, f'{stage}.txt')
        write(f'{stage}.txt', ''.join(
            run_command(grid_file, r, kind, extra) + '\n' for r in runs))
        if kind == 'slurm':
            write(f'{stage}.sbatch', SLURM_HEADER.format(
                name=f'{grid.name}-{stage}', count=len(runs),
                log_dir=osp.join(out_dir, 'logs'), commands=commands,
                cwd=shlex.quote(os.getcwd())))
    if kind == 'slurm':
        lines = ['#!/usr/bin/env bash', 'set -euo pipefail',
                 f'mkdir -p {shlex.quote(osp.join(out_dir, "logs"))}']
        if stages['train']:
            lines.append('train=$(sbatch --parsable '
                         f'{shlex.quote(osp.join(out_dir, "train.sbatch"))})')
        if stages['test']:
            after = ' --dependency=afterany:$train' if stages['train'] else ''
            lines.append(f'sbatch{after} '
                         f'{shlex.quote(osp.join(out_dir, "test.sbatch"))}')
        write('submit.sh', '\n'.join(lines) + '\n', 0o755)
    else:
        lines = ['#!/usr/bin/env bash', 'set -euo pipefail',
                 '# GPUS=N bash run_all.sh: one torchrun per run, in order']
        lines += [f'bash {shlex.quote(osp.join(out_dir, f"{s}.txt"))}'
                  for s, runs in stages.items() if runs]
        write('run_all.sh', '\n'.join(lines) + '\n', 0o755)
    return written
