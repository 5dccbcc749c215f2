"""The CI-size toy grid (issue 13) through the two commands a user runs:
``tools/run_grid.py configs/grids/toy_ci.py`` (2 learners × {none, DAC} ×
2 seeds, shortened by the grid file to 4 shots, 2 epochs and 300 test
images) and ``make_tables.py`` on its store. 50-80 s on 2 shared CPU
cores (marked slow).
"""
import json
import os.path as osp
import statistics
from runpy import run_path

import pytest

pytestmark = pytest.mark.slow

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def tool_main(*parts):
    return run_path(osp.join(REPO, 'tools', *parts))['main']


@pytest.fixture(scope='module')
def toy_grid(tmp_path_factory):
    work = tmp_path_factory.mktemp('toy_ci')
    args = [osp.join(REPO, 'configs', 'grids', 'toy_ci.py'), '--work-dir',
            str(work), '--cfg-options',
            f'train_dataloader.dataset.split_dir={work}/splits']
    assert tool_main('run_grid.py')(args) == 0
    return work, args


def test_every_run_is_stored_once_and_dac_reuses_checkpoints(toy_grid):
    work, _ = toy_grid
    lines = (work / 'results.jsonl').read_text().splitlines()
    records = {r['run']: r for r in map(json.loads, lines)}
    assert len(lines) == len(records) == 8
    assert all(r['status'] == 'done' for r in records.values())
    for learner in ('CoOp', 'KgCoOp'):
        for seed in (1, 2):
            trainer = records[f'toyworld_base2new/{learner}/none/seed{seed}']
            dac = records[f'toyworld_base2new/{learner}/dac/seed{seed}']
            assert dac['trainer'] == trainer['run']
            assert dac['checkpoint'] == trainer['checkpoint']
            assert osp.isfile(trainer['checkpoint'])
            # the DAC run trained nothing: no checkpoint of its own
            assert not list((work / 'runs' / osp.dirname(dac['run'])
                             ).glob(f'seed{seed}/epoch_*.pth'))
            assert 'DAC' in osp.basename(dac['results_file'])
            assert 0 < dac['metrics']['recog/mAP_new'] <= 1


def test_tables_of_the_toy_grid(toy_grid, capsys):
    work, args = toy_grid
    main = tool_main('analysis_tools', 'make_tables.py')
    assert main([str(work), '--table', '1', '4', '--pair', 'none', 'dac']) \
        == 0
    records = [json.loads(line) for line in
               (work / 'results.jsonl').read_text().splitlines()]
    text = (work / 'tables' / 'table1.md').read_text()
    for row in ('CoOp/none', 'CoOp/dac', 'KgCoOp/none', 'KgCoOp/dac'):
        learner, calibrator = row.split('/')
        values = [100 * r['metrics']['calib/ECE_base'] for r in records
                  if r['cell']['learners'] == learner
                  and r['cell']['calibrators'] == calibrator]
        cell = f'{statistics.mean(values):.2f} ± ' \
            f'{statistics.stdev(values):.2f}'
        line = next(x for x in text.splitlines()
                    if x.startswith(f'| {row} |'))
        assert line.split('|')[2].strip().strip('*') == cell
    assert '- calib: p = sigmoid(logit); mode binary' in text
    assert 'Wilcoxon signed-rank' in text
    table4 = (work / 'tables' / 'table4.md').read_text()
    assert '| Method | mAP base | mAP new | mAP HM | acc[Hamming] base' \
        in table4
    # the second call finds every run finished and runs nothing
    capsys.readouterr()
    assert tool_main('run_grid.py')(args) == 0
    assert '8 runs, 8 finished' in capsys.readouterr().out
    assert len((work / 'results.jsonl').read_text().splitlines()) == 8
