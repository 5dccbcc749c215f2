"""Experiment grids: one small file names the axes, mmccr composes the cells.

A grid file is an mmengine-style Python config (no imports) that names each
axis by the config bases under ``configs/_base_/``::

    backbone = 'toyclip'                         # _base_/backbones/
    datasets = ['toyworld_base2new']             # _base_/datasets/
    schedule = 'sgd_cos_toyworld'                # _base_/schedules/
    learners = [dict(name='CoOp', base='coop',   # _base_/learners/
                     cfg_options={'learner.n_ctx': 4}), 'kgcoop']
    calibrators = ['none', 'dac', 'ccr']         # _base_/calibrators/
    losses = [None]                              # None: the learner's own
    shots = [16]
    seeds = [1, 2, 3]
    options = dict(default={})                   # extra cfg_options axis
    cfg_options = {'train_cfg.max_epochs': 50}   # every cell
    evaluation = 'paper'                         # _base_/evaluation/, opt.
    exclude = [dict(learners='zeroshot', calibrators=['ccr', 'dor'])]

An axis entry is a base name, ``None`` (nothing from that axis), or
``dict(name=LABEL, base=NAME, cfg_options={...})``; a ``losses`` entry
has no base (``dict(name='ranking', cfg_options={'loss': {...}})``).
``schedule`` may be a dict ``dataset -> schedule``. ``exclude`` drops the
cells that match every axis of a rule. A learner in
:data:`TEST_ONLY_LEARNERS` (zero-shot) gets no schedule: its cells only
test, with the few-shot sample kept as the reference set of PIECE.
Instead of the composition axes,
``configs = dict(LABEL='path/to/leaf.py', ...)`` runs existing leaf
configs, optionally × the ``options`` axis (``compare_calibrators.py`` and
``lambda_sweep.py`` do this); with ``config_axes = ('learners',
'calibrators', 'target')`` a label ``'CoOp/none/coco17'`` names one value
per axis (tables then group by them).

Every cell becomes a generated leaf config file under
``<work_dir>/configs/`` (what a cluster job reads); a cell × seed is a
:class:`Run`. Runs whose configs differ only in post-hoc calibrators (DAC,
temperature scaling) or in what they are tested on share one training
run: the others test its checkpoint (:func:`plan_runs`).
"""
import copy
import difflib
import itertools
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from mmengine.config import Config

from mmccr.utils.config import finalize
from mmccr.utils.digest import config_sha256
from mmccr.utils.io import atomic_write_bytes

#: The repository's configs folder (bases are looked up under _base_/).
CONFIGS = osp.join(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))), 'configs')

#: Composition axes in cell-label order: (grid key, _base_ folder).
AXES = (('datasets', 'datasets'), ('shots', None), ('learners', 'learners'),
        ('losses', None), ('calibrators', 'calibrators'),
        ('options', None))

#: Grid keys understood besides the axes.
SETTINGS = ('name', 'work_dir', 'backbone', 'schedule', 'evaluation',
            'seeds', 'cfg_options', 'configs', 'config_axes', 'exclude')

#: The runtime base (hooks, scope), added when the schedule lacks it.
RUNTIME = osp.join(CONFIGS, '_base_', 'default_runtime.py')

#: Lines that turn a training config into a test-only one (zero-shot).
TEST_ONLY = ('reference_dataloader = _base_.train_dataloader\n'
             'train_dataloader = None\ntrain_cfg = None\n'
             'val_dataloader = None\nval_evaluator = None\n'
             'test_cfg = dict()\n')

#: Learners that train nothing (tested directly, no schedule).
TEST_ONLY_LEARNERS = ('zeroshot', )


class GridError(ValueError):
    """A grid file that cannot run; the message lists every problem."""


@dataclass(frozen=True)
class Entry:
    """One value of an axis.

    Attributes:
        name (str): the label in run names and tables.
        base (str, optional): the base file name, without ``.py``.
        cfg_options (dict): overrides of this entry.
        shots (int, optional): the number of shots (``shots`` axis).
    """
    name: str
    base: Optional[str] = None
    cfg_options: dict = field(default_factory=dict, hash=False)
    shots: Optional[int] = None


@dataclass
class Cell:
    """A grid cell: one config (all seeds).

    Attributes:
        labels (dict): axis → entry name (or ``config`` → label).
        config (str): the leaf config file (generated or given).
        cfg_options (dict): the entries' and the grid's overrides, merged
            in axis order.
        trains (bool): whether the config has a training schedule.
    """
    labels: Dict[str, str]
    config: str
    cfg_options: dict
    trains: bool = True

    @property
    def name(self) -> str:
        """``a/b/c`` of the labels (a folder path)."""
        return '/'.join(str(v) for v in self.labels.values())


@dataclass
class Run:
    """A cell with a seed.

    Attributes:
        cell (Cell): the cell.
        seed (int): the few-shot and training seed.
        trainer (str, optional): the run id whose checkpoint this run tests
            (None: the run trains itself, or trains nothing).
    """
    cell: Cell
    seed: int
    trainer: Optional[str] = None

    @property
    def id(self) -> str:
        """``<cell name>/seed<seed>`` (unique in a grid)."""
        return f'{self.cell.name}/seed{self.seed}'


@dataclass
class Grid:
    """A parsed grid file.

    Attributes:
        name (str): the grid's name (file stem by default).
        work_dir (str): runs go to ``<work_dir>/runs/<run id>``; the
            results store is ``<work_dir>/results.jsonl``.
        cells (list[Cell]): every cell that composes, in axis order.
        seeds (list[int]): the seeds.
        source (str): the grid file (or a description).
        bad (dict): cell name → problems of the cells that do not compose
            (reported with the others by
            :func:`~mmccr.apis.grid_runner.prepare`).
    """
    name: str
    work_dir: str
    cells: List[Cell]
    seeds: List[int]
    source: str
    bad: Dict[str, List[str]] = field(default_factory=dict)

    def runs(self) -> List[Run]:
        """Every run, cell-major."""
        return [Run(cell, seed) for cell in self.cells for seed in self.seeds]


def _entries(axis: str, values) -> List[Optional[Entry]]:
    """The entries of an axis value (a list, a dict label → options, or
    one value)."""
    if values is None:
        return [None]
    if isinstance(values, dict) and not ({'name', 'base'} & set(values)):
        # options axis style: label -> cfg_options
        return [Entry(str(k), None, dict(v or {})) for k, v in values.items()]
    if not isinstance(values, (list, tuple)):
        values = [values]
    entries: List[Optional[Entry]] = []
    for value in values:
        if value is None:
            entries.append(None)
        elif axis == 'shots':
            if not isinstance(value, int) or value < 1:
                raise GridError(f'shots: expected positive integers, got '
                                f'{value!r}')
            entries.append(Entry(f'{value}shot', shots=value))
        elif isinstance(value, str):
            entries.append(Entry(value, None if axis == 'options' else value))
        elif isinstance(value, dict):
            unknown = set(value) - {'name', 'base', 'cfg_options'}
            if unknown or 'name' not in value and 'base' not in value:
                raise GridError(
                    f'{axis}: entry {dict(value)} needs name= and/or base= '
                    f'(and optionally cfg_options=); unknown keys: '
                    f'{sorted(unknown)}')
            entries.append(Entry(str(value.get('name', value.get('base'))),
                                 value.get('base'),
                                 dict(value.get('cfg_options') or {})))
        else:
            raise GridError(f'{axis}: entries are base names, None or '
                            f'dicts, got {value!r}')
    return entries


def known_bases(folder: str) -> List[str]:
    """Base names in ``configs/_base_/<folder>/``."""
    path = osp.join(CONFIGS, '_base_', folder)
    if not osp.isdir(path):
        return []
    return sorted(osp.splitext(f)[0] for f in os.listdir(path)
                  if f.endswith('.py'))


def base_path(folder: str, name: str) -> str:
    """Absolute path of base ``name`` in ``folder``; GridError if absent."""
    path = osp.join(CONFIGS, '_base_', folder, f'{name}.py')
    if not osp.isfile(path):
        known = known_bases(folder)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f'; did you mean {close[0]!r}?' if close else ''
        raise GridError(f'unknown {folder} base {name!r} (no {path}); known: '
                        f'{", ".join(known)}{hint}')
    return path


def _schedule(grid: Config, dataset: Optional[str]) -> Optional[str]:
    schedule = grid.get('schedule')
    if isinstance(schedule, dict):
        if dataset not in schedule:
            raise GridError(f'schedule: no entry for dataset {dataset!r} '
                            f'(entries: {", ".join(schedule)})')
        return schedule[dataset]
    return schedule


def leaf_text(bases: Sequence[str], trains: bool, evaluation: bool) -> str:
    """The generated leaf config of a cell."""
    lines = ['# Generated by mmccr.apis.grid: one grid cell.',
             '_base_ = [', *[f'    {p!r},' for p in bases], ']']
    text = '\n'.join(lines) + '\n'
    if evaluation:
        text += ('val_evaluator = {{_base_.paper_evaluator}}\n'
                 'test_evaluator = val_evaluator\n')
    if not trains:
        text += TEST_ONLY
    return text


def _merge(*options: dict) -> dict:
    merged: dict = {}
    for own in options:
        merged.update(copy.deepcopy(own))
    return merged


def _excluded(labels: Dict[str, str], exclude: Sequence[dict]) -> bool:
    """Whether a rule of ``exclude`` (axis -> label or labels, all must
    match) drops the cell."""
    for rule in exclude:
        if all(labels.get(axis) in ([want] if isinstance(want, str)
                                    else list(want))
               for axis, want in rule.items()):
            return True
    return False


def _composed_cells(grid: Config, config_dir: str, problems: List[str],
                    bad: Dict[str, List[str]]) -> List[Cell]:
    """Cells of a composition grid; grid problems and bad cells are
    collected, not raised."""
    axes = {}
    for key, _ in AXES:
        try:
            axes[key] = _entries(key, grid.get(key))
        except GridError as e:
            problems.append(str(e))
            axes[key] = [None]
    if grid.get('backbone') is None:
        problems.append("the grid names no backbone (backbone = 'toyclip')")
    if axes['learners'] == [None]:
        problems.append("the grid names no learners (learners = ['coop'])")
    cells = []
    for combo in itertools.product(*(axes[k] for k, _ in AXES)):
        entries = dict(zip((k for k, _ in AXES), combo, strict=True))
        labels = {k: e.name for k, e in entries.items() if e is not None}
        if _excluded(labels, grid.get('exclude') or []):
            continue
        learner = entries['learners']
        trains = learner is None or learner.base not in TEST_ONLY_LEARNERS
        try:
            bases = [base_path('backbones', grid.backbone)] \
                if grid.get('backbone') else []
            for key, folder in AXES:
                entry = entries[key]
                if folder and entry is not None and entry.base is not None:
                    bases.append(base_path(folder, entry.base))
            if trains:
                schedule = _schedule(grid, getattr(entries['datasets'],
                                                   'base', None))
                if schedule is None:
                    raise GridError("the grid names no schedule (schedule = "
                                    "'sgd_cos_toyworld')")
                bases.append(base_path('schedules', schedule))
                if 'default_scope' not in Config.fromfile(bases[-1]):
                    bases.append(RUNTIME)  # the schedule has no runtime
            else:
                bases.append(RUNTIME)
            if grid.get('evaluation'):
                bases.append(base_path('evaluation', grid.evaluation))
        except GridError as e:
            bad.setdefault('/'.join(labels.values()), []).append(str(e))
            continue
        name = '/'.join(labels.values())
        path = osp.join(config_dir, name.replace('/', '__') + '.py')
        text = leaf_text(bases, trains, bool(grid.get('evaluation')))
        if not osp.isfile(path) or open(path, encoding='utf-8').read() != text:
            atomic_write_bytes(path, text.encode('utf-8'))
        options = _merge(*(e.cfg_options for e in combo if e is not None))
        if entries['shots'] is not None:
            sample = 'train' if trains else 'reference'  # PIECE's sample
            options[f'{sample}_dataloader.dataset.num_shots'] = \
                entries['shots'].shots
        options.update(copy.deepcopy(dict(grid.get('cfg_options') or {})))
        cells.append(Cell(labels, path, options, trains))
    return cells


def load_grid(path: str, work_dir: Optional[str] = None) -> Grid:
    """Parse a grid file into cells (composing their configs).

    Args:
        path (str): the grid file.
        work_dir (str, optional): overrides the grid's ``work_dir``
            (default ``work_dirs/grids/<name>``).

    Raises:
        GridError: unknown grid keys, a missing backbone or learners;
            lists every problem. Cells naming unknown bases are kept in
            ``Grid.bad``, for :func:`~mmccr.apis.grid_runner.prepare`.
    """
    if not osp.isfile(path):
        raise GridError(f'grid file {path} does not exist')
    grid = Config.fromfile(path)
    return grid_from_config(grid, osp.splitext(osp.basename(path))[0],
                            work_dir, source=path)


def grid_from_config(grid: Config, default_name: str,
                     work_dir: Optional[str] = None,
                     source: str = '<grid>') -> Grid:
    """:func:`load_grid` of an already loaded grid config."""
    known = {k for k, _ in AXES} | set(SETTINGS)
    problems = [
        f'unknown grid key {key!r} (known: {", ".join(sorted(known))}'
        + (f'; did you mean {close[0]!r}?)' if close else ')')
        for key in grid if key not in known
        for close in [difflib.get_close_matches(key, sorted(known), n=1)]]
    name = grid.get('name') or default_name
    work_dir = work_dir or grid.get('work_dir') or osp.join(
        'work_dirs', 'grids', name)
    config_dir = osp.join(work_dir, 'configs')
    seeds = list(grid.get('seeds') or [1])
    bad: Dict[str, List[str]] = {}
    if grid.get('configs'):
        clash = [k for k, _ in AXES if k != 'options' and
                 grid.get(k) is not None]
        if clash:
            problems.append(f'configs= runs leaf configs; it combines with '
                            f'the options axis only, not with {clash}')
        options = _entries('options', grid.get('options'))
        cells = []
        for label, config in grid.configs.items():
            if not osp.isfile(config):
                bad[label] = [f'no config file {config}']
                continue
            trains = bool(Config.fromfile(config).get('train_cfg'))
            axes = list(grid.get('config_axes') or ['config'])
            parts = str(label).split('/') if len(axes) > 1 else [label]
            if len(parts) != len(axes):
                problems.append(f'configs: label {label!r} needs one part '
                                f'per config_axes {axes}, joined by /')
                continue
            for option in options:
                labels = dict(zip(axes, parts, strict=True))
                if option is not None:
                    labels['options'] = option.name
                cells.append(Cell(labels, config, _merge(
                    option.cfg_options if option else {},
                    dict(grid.get('cfg_options') or {})), trains))
    else:
        cells = _composed_cells(grid, config_dir, problems, bad)
    if problems:
        raise GridError(f'{source}: ' + '\n  '.join([''] + problems))
    return Grid(name, work_dir, cells, seeds, source, bad)


def run_config_of(run: Run, work_dir: str,
                  extra_options: Optional[dict] = None,
                  quiet: bool = True,
                  plot_dir: Optional[str] = None) -> Config:
    """The runnable config of a run (seeded, overrides merged, finalized)."""
    from .runs import seeded_config  # runs imports the engine: lazily
    return seeded_config(run.cell.config, work_dir, run.seed,
                         _merge(run.cell.cfg_options, extra_options or {}),
                         quiet=quiet, plot_dir=plot_dir)


def compose(run: Run, extra_options: Optional[dict] = None,
            loaded: Optional[Config] = None) -> Config:
    """The run's config, loaded and finalized, without engine imports.

    Used to validate cells and to digest them; :func:`run_config_of` is
    what a run executes (the same config plus the work directory and the
    log level).

    Args:
        run (Run): the run.
        extra_options (dict, optional): ``--cfg-options`` of every run.
        loaded (Config, optional): ``Config.fromfile`` of the cell's config
            (read once for all seeds of a cell); not modified.
    """
    cfg = copy.deepcopy(loaded) if loaded is not None else \
        Config.fromfile(run.cell.config)
    cfg.randomness = dict(cfg.get('randomness') or {}, seed=run.seed)
    if cfg.get('train_dataloader'):
        cfg.train_dataloader.dataset.seed = run.seed
    options = _merge(run.cell.cfg_options, extra_options or {})
    if options:
        cfg.merge_from_dict(options)
    return finalize(cfg)


def is_post_hoc(calibrator: dict) -> bool:
    """Whether a calibrator config is post-hoc only (adds no training
    loss), judged from its registered class."""
    from mmccr.calibrators.base import BaseCalibrator
    from mmccr.registry import CALIBRATORS
    cls = CALIBRATORS.get(calibrator['type'])
    return cls is not None and cls.loss is BaseCalibrator.loss


#: Config keys that only say how a trained model is tested.
TEST_KEYS = ('test_dataloader', 'test_evaluator', 'test_cfg')


def training_digest(cfg: Config) -> Optional[str]:
    """Digest of what a run trains: the config without post-hoc
    calibrators and without its test settings (:data:`TEST_KEYS`: a
    domain-generalization target tests the source's training); None for a
    config that trains nothing."""
    if not cfg.get('train_cfg'):
        return None
    data = {k: v for k, v in cfg.to_dict().items() if k not in TEST_KEYS}
    model = data.get('model') or {}
    model['calibrators'] = [c for c in model.get('calibrators') or []
                            if not is_post_hoc(c)]
    return config_sha256(data)


def plan_runs(runs: Iterable[Run],
              configs: Dict[str, Config]) -> List[Run]:
    """Assign trainers: runs with the same training digest share one
    training run, preferring one without post-hoc calibrators; trainers
    come first in the returned order.

    Args:
        runs (Iterable[Run]): the grid's runs.
        configs (dict): run id → its composed config (:func:`compose`).
    """
    runs = list(runs)
    groups: Dict[Tuple[str, int], List[Run]] = {}
    for run in runs:
        digest = training_digest(configs[run.id])
        if digest is not None:
            groups.setdefault((digest, run.seed), []).append(run)
    for members in groups.values():
        def extras(run: Run) -> int:
            cals = configs[run.id].model.get('calibrators') or []
            return sum(is_post_hoc(c) for c in cals)
        trainer = min(members, key=extras)  # first of the fewest post-hoc
        for run in members:
            run.trainer = None if run is trainer else trainer.id
    return [r for r in runs if r.trainer is None] + \
        [r for r in runs if r.trainer is not None]


def check_run(run: Run, cfg: Config) -> List[str]:
    """Problems of a run's composed config found without building it:
    unknown component types and impossible combinations."""
    from mmccr.models.prompt_learners.base import BasePromptLearner
    from mmccr.registry import (
        CALIBRATORS,
        DATASETS,
        LOSSES,
        MODELS,
        PROMPT_LEARNERS,
    )
    problems = []

    def lookup(registry, conf, key):
        if not isinstance(conf, dict) or 'type' not in conf:
            problems.append(f'{key}: expected a dict with type=, got {conf!r}')
            return None
        cls = registry.get(conf['type'])
        if cls is None:
            names = sorted(registry.module_dict)
            close = difflib.get_close_matches(str(conf['type']), names, n=1)
            problems.append(
                f'{key}.type={conf["type"]!r} is not registered in '
                f'{registry.name}' + (f'; did you mean {close[0]!r}?'
                                      if close else ''))
        return cls

    model = cfg.get('model') or {}
    lookup(MODELS, model.get('backbone'), 'model.backbone')
    learner = lookup(PROMPT_LEARNERS, model.get('learner'), 'model.learner')
    lookup(LOSSES, model.get('loss', dict(type='BCELoss')), 'model.loss')
    for i, cal in enumerate(model.get('calibrators') or []):
        cls = lookup(CALIBRATORS, cal, f'model.calibrators.{i}')
        if cls is None:
            continue
        if not cfg.get('train_cfg') and not is_post_hoc(cal):
            problems.append(
                f'{cal["type"]} is a train-time calibrator but this config '
                'trains nothing (a zero-shot learner); use post-hoc '
                'calibrators (dac, tempscale) or a learner that trains')
        never = learner is not None and \
            learner.tuned_features is BasePromptLearner.tuned_features
        if cls.needs_tuned_features and never:
            problems.append(
                f'{cal["type"]} needs tuned text features of arbitrary class '
                f'names, which {learner.__name__} cannot give')
    for loader in ('train_dataloader', 'test_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset')
        if dataset is not None:
            lookup(DATASETS, dataset, f'{loader}.dataset')
    return problems
