"""Experiment grids (issue 13): composition, validation, the results store,
resume, failures, locks and emitted commands.

Runs are executed by a fake of :func:`mmccr.apis.runs.execute` that records
what it is asked and writes a checkpoint, so these tests check the grid's
bookkeeping in seconds; ``test_grid_toy.py`` runs a real toy grid.
"""
import io
import json
import os
import os.path as osp

import pytest
from mmengine.config import Config
from rich.console import Console

from mmccr.apis import runs
from mmccr.apis.grid import GridError, compose, grid_from_config, load_grid
from mmccr.apis.grid_runner import (
    Options,
    emit,
    prepare,
    run_grid,
    store_path,
)
from mmccr.apis.store import read_store, run_lock
from mmccr.utils.config import load_config
from mmccr.utils.digest import config_sha256

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
COOP = dict(name='coop', base='coop',
            cfg_options={'learner.n_ctx': 4,
                         'learner.ctx_init': 'a photo of a'})


def toy_grid(tmp_path, **axes) -> Config:
    """A toy-world grid config (nothing is run by building it)."""
    spec = dict(backbone='toyclip', datasets=['toyworld_base2new'],
                schedule='sgd_cos_toyworld', learners=[COOP],
                calibrators=['none', 'dac', 'ccr'], seeds=[1, 2],
                work_dir=str(tmp_path / 'grid'))
    spec.update(axes)
    return Config(spec)


class FakeExecute:
    """Stands in for ``runs.execute``: records calls, writes a checkpoint
    for training runs, fails for the run ids in ``fail``."""

    def __init__(self, fail=()):
        self.calls = []
        self.fail = set(fail)

    def __call__(self, cfg, progress=None, description='run', train=True):
        self.calls.append(dict(run=description, train=train,
                               load_from=cfg.get('load_from')))
        if description in self.fail:
            raise RuntimeError(f'boom in {description}')
        os.makedirs(cfg.work_dir, exist_ok=True)
        if train and cfg.get('train_cfg'):
            path = osp.join(cfg.work_dir, 'epoch_50.pth')
            with open(path, 'w') as f:
                f.write('weights')
            with open(osp.join(cfg.work_dir, 'last_checkpoint'), 'w') as f:
                f.write(path)
        return {'calib/ECE_base': 0.01 * cfg.randomness.seed}


@pytest.fixture
def fake(monkeypatch):
    fake = FakeExecute()
    monkeypatch.setattr(runs, 'execute', fake)
    return fake


def quiet_console() -> Console:
    return Console(file=io.StringIO(), width=200)


def records(grid) -> list:
    return read_store(store_path(grid)).records


@pytest.mark.parametrize('learner,calibrator,leaf', [
    (COOP, 'none', 'coop_bce_toyworld'),
    (COOP, 'ccr', 'coop_ccr_toyworld'),
    (COOP, 'dac', 'coop_dac_toyworld'),
    (COOP, 'tempscale', 'coop_tempscale_toyworld'),
    ('kgcoop', 'ccr', 'kgcoop_ccr_toyworld'),
    ('dualcoop', 'none', 'dualcoop_bce_toyworld'),
    ('zeroshot', None, 'zeroshot_toyworld'),
    ('coop', 'none', '../coop_bce_coco_16shot'),
    ('cocoop', 'ccr', '../cocoop_ccr_coco_16shot'),
    ('coop', 'ccr', '../coop_ccr_voclt_16shot'),
])
def test_composition_from_base_names_equals_the_leaf(tmp_path, learner,
                                                     calibrator, leaf):
    spec = toy_grid(tmp_path, learners=[learner], calibrators=[calibrator],
                    seeds=[3])
    if leaf.startswith('../'):  # a paper leaf: ViT-B/16, 10 epochs
        dataset = 'voclt' if 'voclt' in leaf else 'coco14'
        spec.update(backbone='vit-b16', schedule='sgd_cos_10e',
                    datasets=[f'{dataset}_base2new'])
    grid = grid_from_config(spec, 'x')
    (run, ) = grid.runs()
    composed = compose(run)
    expected = load_config(osp.join(REPO, 'configs', 'demo', f'{leaf}.py'))
    expected.randomness = dict(expected.randomness, seed=3)
    if expected.get('train_dataloader'):
        expected.train_dataloader.dataset.seed = 3
    assert composed.to_dict() == expected.to_dict()
    assert config_sha256(composed) == config_sha256(expected)


def test_post_hoc_runs_test_the_checkpoint_of_their_training_run(
        tmp_path, fake):
    grid = grid_from_config(toy_grid(tmp_path), 'g')
    plan = prepare(grid)
    summary = run_grid(grid, plan, Options(), quiet_console())
    assert sorted(summary.done) == sorted(r.id for r in grid.runs())
    by_run = {c['run']: c for c in fake.calls}
    # none and ccr train; dac tests the none run's checkpoint, after it
    for seed in (1, 2):
        trainer = f'toyworld_base2new/coop/none/seed{seed}'
        dac = by_run[f'toyworld_base2new/coop/dac/seed{seed}']
        assert by_run[trainer]['train'] and not dac['train']
        assert dac['load_from'] == osp.join(
            grid.work_dir, 'runs', trainer, 'epoch_50.pth')
        assert by_run[f'toyworld_base2new/coop/ccr/seed{seed}']['train']
    order = [c['run'] for c in fake.calls]
    assert max(order.index(f'toyworld_base2new/coop/none/seed{s}')
               for s in (1, 2)) < min(
                   order.index(f'toyworld_base2new/coop/dac/seed{s}')
                   for s in (1, 2))
    stored = {r['run']: r for r in records(grid)}
    dac = stored['toyworld_base2new/coop/dac/seed1']
    assert dac['trainer'] == 'toyworld_base2new/coop/none/seed1'
    assert dac['checkpoint'] == stored[dac['trainer']]['checkpoint']
    assert dac['metrics'] == {'calib/ECE_base': 0.01}
    assert dac['cell'] == dict(datasets='toyworld_base2new', learners='coop',
                               calibrators='dac')
    assert dac['config_digest'] == config_sha256(plan.configs[dac['run']])
    assert dac['wall_time_s'] >= 0 and dac['versions']['torch']
    assert any('sigmoid' in line for line in dac['conventions'])


def test_resume_skips_finished_runs_and_reruns_changed_configs(
        tmp_path, fake):
    spec = toy_grid(tmp_path)
    grid = grid_from_config(spec, 'g')
    run_grid(grid, prepare(grid), Options(), quiet_console())
    assert len(fake.calls) == 6
    fake.calls.clear()
    summary = run_grid(grid, prepare(grid), Options(), quiet_console())
    assert fake.calls == [] and len(summary.skipped) == 6
    assert len(records(grid)) == 6
    # another number of epochs: every run's config changed
    spec.cfg_options = {'train_cfg.max_epochs': 3}
    grid = grid_from_config(spec, 'g')
    summary = run_grid(grid, prepare(grid), Options(only=[
        'toyworld_base2new/coop/ccr/seed2']), quiet_console())
    assert [c['run'] for c in fake.calls] == [
        'toyworld_base2new/coop/ccr/seed2']
    assert summary.done == ['toyworld_base2new/coop/ccr/seed2']


def test_failed_run_is_recorded_and_rerun_only_on_request(tmp_path, fake):
    grid = grid_from_config(toy_grid(tmp_path), 'g')
    bad = 'toyworld_base2new/coop/ccr/seed1'
    fake.fail = {bad, 'toyworld_base2new/coop/none/seed2'}
    summary = run_grid(grid, prepare(grid), Options(), quiet_console())
    # the grid went on: every run was tried; the dac run of the failed
    # trainer fails too, naming it
    assert sorted(summary.failed) == sorted(
        [bad, 'toyworld_base2new/coop/none/seed2',
         'toyworld_base2new/coop/dac/seed2'])
    stored = read_store(store_path(grid)).latest()
    assert stored[bad]['error'] == f'RuntimeError: boom in {bad}'
    assert 'Traceback' in stored[bad]['traceback']
    assert 'toyworld_base2new/coop/none/seed2' in \
        stored['toyworld_base2new/coop/dac/seed2']['error']
    assert len(fake.calls) == 5  # the orphaned dac run executes nothing

    fake.calls.clear()
    fake.fail = set()
    summary = run_grid(grid, prepare(grid), Options(), quiet_console())
    assert fake.calls == [] and len(summary.failed_before) == 3
    summary = run_grid(grid, prepare(grid), Options(rerun_failed=True),
                       quiet_console())
    assert sorted(summary.done) == sorted(
        [bad, 'toyworld_base2new/coop/none/seed2',
         'toyworld_base2new/coop/dac/seed2'])
    latest = read_store(store_path(grid)).latest()
    assert all(r['status'] == 'done' for r in latest.values())


def test_a_rerun_training_run_reruns_the_runs_testing_its_checkpoint(
        tmp_path, fake):
    grid = grid_from_config(toy_grid(tmp_path, seeds=[1]), 'g')
    run_grid(grid, prepare(grid), Options(), quiet_console())
    trainer = 'toyworld_base2new/coop/none/seed1'
    run_grid(grid, prepare(grid), Options(only=[trainer], rerun=True),
             quiet_console())
    fake.calls.clear()
    summary = run_grid(grid, prepare(grid), Options(), quiet_console())
    # the dac run tested the old checkpoint: it runs again, nothing else
    assert summary.done == ['toyworld_base2new/coop/dac/seed1']
    assert [c['train'] for c in fake.calls] == [False]
    summary = run_grid(grid, prepare(grid), Options(), quiet_console())
    assert summary.done == [] and len(summary.skipped) == 3


def test_stop_on_failure(tmp_path, fake):
    grid = grid_from_config(toy_grid(tmp_path), 'g')
    plan = prepare(grid)
    fake.fail = {plan.runs[0].id}
    summary = run_grid(grid, plan, Options(stop_on_failure=True),
                       quiet_console())
    assert summary.failed == [plan.runs[0].id] and summary.done == []
    assert len(fake.calls) == 1


def test_bad_cells_are_listed_before_any_run(tmp_path, fake):
    grid_file = tmp_path / 'bad.py'
    grid_file.write_text(
        "backbone = 'toyclip'\n"
        "datasets = ['toyworld_base2new']\n"
        "schedule = 'sgd_cos_toyworld'\n"
        "learners = ['coop', 'coopp', 'zeroshot']\n"
        "calibrators = ['none', 'ccr']\n"
        "options = dict(ok={}, typo={'model.calibrators': "
        "[dict(type='CCRR')]})\n"
        f"work_dir = {str(tmp_path / 'w')!r}\n")
    grid = load_grid(str(grid_file))
    with pytest.raises(GridError) as error:
        prepare(grid)
    text = str(error.value)
    # unknown base (with the closest name), impossible combination, unknown
    # type: every bad cell, once (not per seed)
    assert "unknown learners base 'coopp'" in text and "'coop'?" in text
    assert text.count('toyworld_base2new/coopp/') == 4
    assert ('toyworld_base2new/zeroshot/ccr/ok' in text
            and 'trains nothing' in text)
    assert "'CCRR' is not registered" in text
    assert "did you mean 'CCR'" in text
    assert ' cells cannot run (nothing was run)' in text
    # through the tool: exit status 2, nothing run, no store
    from runpy import run_path
    main = run_path(osp.join(REPO, 'tools', 'run_grid.py'))['main']
    assert main([str(grid_file)]) == 2
    assert fake.calls == [] and not osp.exists(tmp_path / 'w' /
                                               'results.jsonl')


def test_unknown_grid_key_is_named(tmp_path):
    with pytest.raises(GridError, match="unknown grid key 'learner'.*"
                       "did you mean 'learners'"):
        grid_from_config(toy_grid(tmp_path, learner=['coop']), 'g')


def test_corrupt_store_lines_are_reported_and_skipped(tmp_path, fake):
    grid = grid_from_config(toy_grid(tmp_path, calibrators=['none']), 'g')
    plan = prepare(grid)
    run_grid(grid, plan, Options(only=[plan.runs[0].id]), quiet_console())
    store = store_path(grid)
    with open(store, 'a') as f:
        f.write('not json at all\n[1, 2]\n{"run": "x", "stat')
    content = read_store(store)
    assert [r['run'] for r in content.records] == [plan.runs[0].id]
    assert len(content.problems) == 3
    assert content.problems[0].startswith(f'{store}:2: not JSON')
    assert content.problems[1].startswith(f'{store}:3: not a run record')
    assert content.problems[2].startswith(f'{store}:4: truncated line')
    console = quiet_console()
    fake.calls.clear()
    run_grid(grid, plan, Options(), console)
    out = console.file.getvalue()
    assert f'{store}:4: truncated line' in out
    assert [c['run'] for c in fake.calls] == [plan.runs[1].id]
    # the new record starts on its own line: the truncated one stays alone
    content = read_store(store)
    assert [r['run'] for r in content.records] == [r.id for r in plan.runs]
    assert len(content.problems) == 3


def test_a_locked_run_is_left_to_the_process_holding_it(tmp_path, fake):
    grid = grid_from_config(toy_grid(tmp_path, calibrators=['none']), 'g')
    plan = prepare(grid)
    busy = plan.runs[0].id
    with run_lock(store_path(grid), busy) as mine:
        assert mine
        with run_lock(store_path(grid), busy) as again:
            assert not again  # a second holder is refused
        summary = run_grid(grid, plan, Options(), quiet_console())
    assert summary.busy == [busy]
    assert [c['run'] for c in fake.calls] == [plan.runs[1].id]
    assert [r['run'] for r in records(grid)] == [plan.runs[1].id]
    # released: the next process runs it
    summary = run_grid(grid, plan, Options(), quiet_console())
    assert summary.done == [busy]


def test_emit_slurm_writes_one_command_per_run(tmp_path):
    grid = grid_from_config(toy_grid(tmp_path), 'g')
    plan = prepare(grid)
    written = emit(grid, plan, 'slurm', 'configs/grids/g.py',
                   str(tmp_path / 'emit'))
    names = sorted(osp.basename(p) for p in written)
    assert names == ['submit.sh', 'test.sbatch', 'test.txt', 'train.sbatch',
                     'train.txt']
    train = (tmp_path / 'emit' / 'train.txt').read_text().splitlines()
    test = (tmp_path / 'emit' / 'test.txt').read_text().splitlines()
    assert len(train) == 4 and len(test) == 2  # none, ccr × 2; dac × 2
    assert all('/dac/' in line for line in test)
    for line in train + test:
        assert line.startswith('python tools/run_grid.py configs/grids/g.py '
                               '--only toyworld_base2new/coop/')
    sbatch = (tmp_path / 'emit' / 'train.sbatch').read_text()
    assert '#SBATCH --array=1-4' in sbatch
    assert f'\ncd {os.getcwd()}  #' in sbatch  # relative paths keep working
    submit = (tmp_path / 'emit' / 'submit.sh').read_text()
    assert '--dependency=afterany:$train' in submit
    written = emit(grid, plan, 'torchrun', 'g.py', str(tmp_path / 'tr'))
    line = (tmp_path / 'tr' / 'train.txt').read_text().splitlines()[0]
    assert line.startswith('torchrun --nproc_per_node="${GPUS:-1}" '
                           'tools/run_grid.py g.py --only ')
    assert line.endswith('--launcher pytorch')


def test_store_records_are_json_lines(tmp_path, fake):
    grid = grid_from_config(toy_grid(tmp_path, calibrators=['none'],
                                     seeds=[1]), 'g')
    run_grid(grid, prepare(grid), Options(), quiet_console())
    (line, ) = open(store_path(grid)).read().splitlines()
    record = json.loads(line)
    assert record['status'] == 'done' and record['seed'] == 1
    assert record['checkpoint'].endswith('epoch_50.pth')


def test_demo_grid_composes_the_demo_leaves(tmp_path):
    """configs/grids/demo.py runs exactly the configs of scripts/demo.sh,
    so run_grid.py + make_tables.py reproduce the demo's table."""
    grid = load_grid(osp.join(REPO, 'configs', 'grids', 'demo.py'),
                     str(tmp_path / 'demo'))
    leaves = {'zero-shot/none': 'zeroshot', 'CoOp/none': 'coop_bce',
              'CoOp/ccr': 'coop_ccr', 'CoOp/ranking/none': 'coop_ranking'}
    runs = grid.runs()
    assert sorted(r.cell.name.split('/', 1)[1] for r in runs) == \
        sorted(leaves)
    for run in runs:
        composed = compose(run).to_dict()
        leaf = leaves[run.cell.name.split('/', 1)[1]]
        expected = load_config(osp.join(REPO, 'configs', 'demo',
                                        f'{leaf}_toyworld.py'))
        expected.randomness = dict(expected.randomness, seed=1)
        if expected.get('train_dataloader'):
            expected.train_dataloader.dataset.seed = 1
        expected = expected.to_dict()
        if leaf == 'zeroshot':  # the zero-shot leaf names no calibrators
            assert composed['model'].pop('calibrators') == []
        assert composed == expected, leaf


@pytest.mark.parametrize('name', sorted(
    f[:-3] for f in os.listdir(osp.join(REPO, 'configs', 'grids'))))
def test_every_grid_file_validates(tmp_path, name):
    """The shipped grids compose and pass validation (seed 1 only: seeds
    do not change what is checked)."""
    grid = load_grid(osp.join(REPO, 'configs', 'grids', f'{name}.py'),
                     str(tmp_path))
    grid.seeds = grid.seeds[:1]
    plan = prepare(grid)
    assert len(plan.runs) == len(grid.cells) > 0
    if name == 'paper_dg':  # labels from config_axes
        assert grid.cells[1].labels == dict(learners='CoOp',
                                            calibrators='none',
                                            target='coco17')
        # the targets test the checkpoint trained for the source
        trainers = {r.id: r.trainer for r in plan.runs}
        assert trainers['CoOp/none/coco17/seed1'] == \
            trainers['CoOp/none/cocolt/seed1'] == 'CoOp/none/coco14/seed1'
        assert trainers['CoOp/ccr/coco15/seed1'] == 'CoOp/ccr/coco14/seed1'
        assert sum(t is None for t in trainers.values()) == 2
    if name == 'paper_base2new':  # 4 datasets × (ZSCLIP + 4 learners × 4)
        assert len(grid.cells) == 4 * (1 + 4 * 4)
        dac = [r for r in plan.runs if '/dac/' in r.id]
        assert dac and all(r.trainer == r.id.replace('/dac/', '/none/')
                           for r in dac)


def test_run_grid_seeds_option_restricts_the_runs(tmp_path, capsys):
    from runpy import run_path
    main = run_path(osp.join(REPO, 'tools', 'run_grid.py'))['main']
    grid = osp.join(REPO, 'configs', 'grids', 'toy_ci.py')
    assert main([grid, '--work-dir', str(tmp_path), '--seeds', '2',
                 '--list']) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4 and all('/seed2' in line for line in lines)
    assert main([grid, '--work-dir', str(tmp_path), '--seeds', '3']) == 2
    assert "--seeds [3]: not among the grid's seeds [1, 2]" in \
        capsys.readouterr().out
