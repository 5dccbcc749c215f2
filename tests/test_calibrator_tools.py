"""Calibrators through the runner and the tools.

``tools/train.py``, ``tools/test.py``, ``compare_calibrators.py`` and
``build_dor_vocab.py`` run in this process (``runpy`` with their command
line), not as subprocesses: a fresh interpreter spends most of its time
importing torch and mmccr, which would multiply the runtime. Every run
gets its own work directory and ``experiment_name`` so that mmengine's
named loggers and visualizers do not mix runs; its log is read back from
the work directory.

Sizes are tiny (one training iteration, 12 test images), and the runs pass
``serialize_data=False`` to the datasets, which skips mmengine's slow
``gc.collect`` per dataset; the held-out test builds the fitting data with
the default (serialised) datasets.
"""
import csv
import hashlib
import io
import json
import math
import os
import os.path as osp
import re
import runpy
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose

import mmccr.apis.runs as runs
from mmccr.apis import execute, seeded_config
from mmccr.calibrators import TemperatureScaling, load_vocabulary
from mmccr.datasets.transforms import LoadImage, PackInputs
from mmccr.engine.hooks import CalibratorFitHook
from mmccr.evaluation.comparison import (
    cell_text,
    comparison_rows,
    metric_key,
    summarize,
    table_columns,
    to_csv,
    to_markdown,
)
from mmccr.registry import DATASETS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CALIBRATOR_DIR = osp.join(REPO, 'configs', '_base_', 'calibrators')
BASE = [f'{c} {s}' for c in ('red', 'green')
        for s in ('square', 'circle', 'triangle')]
NEW = [f'{c} {s}' for c in ('blue', 'yellow')
       for s in ('square', 'circle', 'triangle')]
NOUNS = ('apple table chair house river mountain pencil bottle window '
         'garden bridge candle forest guitar hammer island jacket kettle '
         'ladder mirror needle orange pillow rabbit saddle tunnel violin '
         'wallet yacht zipper').split()


def demo(name: str) -> str:
    return osp.join(REPO, 'configs', 'demo', f'coop_{name}_shapes_tiny.py')


def options(data_dir) -> list:
    """Tiny sizes: 1-shot training (5 images, 1 iteration), 12 test images.

    ``data_dir`` holds the few-shot split files; runs that share it share
    the training sample (and so the held-out sample).
    """
    return [
        'train_dataloader.dataset.num_images=48',
        'train_dataloader.dataset.num_shots=1',
        f'train_dataloader.dataset.data_root={data_dir}/data',
        'train_dataloader.batch_size=4',
        'val_dataloader.dataset.num_images=12',
        'test_dataloader.dataset.num_images=12',
        'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1',
    ] + [f'{loader}.dataset.serialize_data=False'
         for loader in ('train_dataloader', 'val_dataloader',
                        'test_dataloader')]


#: The temperature-scaling run trains on 2 shots for 2 epochs (the first
#: is a warm-up at lr 1e-5) at a high learning rate, so that its logits
#: carry some signal and the fitted temperature is not clipped.
TS_OPTIONS = ['train_dataloader.dataset.num_shots=2',
              'train_cfg.max_epochs=2', 'optim_wrapper.optimizer.lr=0.05']


def tool(script: str, *args) -> None:
    """Run ``script`` (relative to the repo) as ``__main__`` with ``args``."""
    argv = sys.argv
    local_rank = os.environ.get('LOCAL_RANK')
    sys.argv = [script, *map(str, args)]
    try:
        runpy.run_path(osp.join(REPO, script), run_name='__main__')
    finally:
        sys.argv = argv
        if local_rank is None:
            os.environ.pop('LOCAL_RANK', None)  # set by the tools


def logs(work_dir) -> str:
    """The text of every mmengine log file under ``work_dir``."""
    return '\n'.join(p.read_text(encoding='utf-8')
                     for p in sorted(Path(work_dir).glob('**/*.log')))


def scalars(work_dir) -> list:
    """The records of every ``scalars.json`` under ``work_dir``."""
    records = []
    for path in Path(work_dir).glob('**/vis_data/scalars.json'):
        records += [json.loads(line) for line in path.read_text().split(
            '\n') if line.strip()]
    return records


def train(config, work, name, *extra):
    tool('tools/train.py', config, '--work-dir', work, '--cfg-options',
         f'experiment_name={name}', *extra)


def evaluate(config, ckpt, work, name, *args, cfg_options=()):
    """tools/test.py; returns the ``--out`` metrics and the run's log."""
    out = Path(work) / 'metrics.json'
    tool('tools/test.py', config, ckpt, '--work-dir', work, '--out', out,
         *args, '--cfg-options', f'experiment_name={name}', *cfg_options)
    return json.loads(out.read_text()), logs(work)


def dac_line(log: str):
    """(scaled, total, names) of the last 'DAC: ...' log line."""
    lines = re.findall(r'DAC: (\d+) of (\d+) classes scaled \([^)]*\)'
                       r'(?:: (.*))?', log)
    scaled, total, names = lines[-1]
    return int(scaled), int(total), names.split(', ') if names else []


def write_vocab(path) -> str:
    path.write_text('\n'.join(NOUNS) + '\n', encoding='utf-8')
    return str(path)


# ---------------------------------------------------------------------- #
# the fit hook                                                           #
# ---------------------------------------------------------------------- #
@pytest.fixture(scope='module')
def tempscale_run(tmp_path_factory):
    """tools/train.py on the temperature-scaling demo, one iteration."""
    work = tmp_path_factory.mktemp('tempscale')
    train(demo('tempscale'), work, 'ts_train', *options(work), *TS_OPTIONS)
    assert (work / 'epoch_2.pth').is_file()
    return work


def held_out_expectation(data_dir, shots=1):
    """img_ids of the training sample, of the seed-1001 sample, and of
    the held-out fitting set: the seed-1001 sample without the training
    images. Built here from the dataset configs (as in :func:`options`).
    """
    cfg = Config.fromfile(demo('tempscale'))
    cfg.train_dataloader.dataset.update(
        num_images=48, num_shots=shots, data_root=f'{data_dir}/data')
    dataset_cfg = dict(cfg.train_dataloader.dataset.to_dict(), pipeline=[])

    def ids(seed):
        dataset = DATASETS.build(dict(dataset_cfg, seed=seed))
        return [dataset.get_data_info(i)['img_id']
                for i in range(len(dataset))]

    train_ids, second = ids(1), ids(1001)
    held = [i for i in second if i not in train_ids]
    return train_ids, second, held, cfg


def eval_loop():
    """A loop whose dataset has the evaluation pipeline (no flip)."""
    pipeline = Compose([LoadImage(), PackInputs()])
    return SimpleNamespace(dataloader=SimpleNamespace(
        dataset=SimpleNamespace(pipeline=pipeline)))


def test_held_out_fitting_data_has_no_training_image(tmp_path):
    """The default fitting set: seed 1001 sample minus training images."""
    train_ids, second, expected, cfg = held_out_expectation(tmp_path)
    # the two samples overlap, so images are removed, but not all
    assert 0 < len(expected) < len(second)
    loop = eval_loop()
    hook = CalibratorFitHook()
    held = hook.fit_dataset(SimpleNamespace(cfg=cfg), loop)
    held_ids = [held.get_data_info(i)['img_id'] for i in range(len(held))]
    assert held_ids == expected
    assert not set(held_ids) & set(train_ids)
    assert held.metainfo['prompt_names'] == BASE
    # the items go through the evaluation pipeline
    assert held[0]['inputs'].shape == (3, 32, 32)

    # a fit_dataloader in the config is used as it is
    cfg.fit_dataloader = dict(dataset=dict(
        type='SyntheticShapes', num_images=7, split='test',
        class_split='base', test_mode=True))
    assert len(hook.fit_dataset(SimpleNamespace(cfg=cfg), loop)) == 7
    # without few-shot sampling no training image is left over
    cfg.fit_dataloader = None
    cfg.train_dataloader.dataset.num_shots = None
    with pytest.raises(ValueError, match='fit_dataloader'):
        hook.fit_dataset(SimpleNamespace(cfg=cfg), loop)


def test_fit_dataloader_gets_the_evaluation_pipeline(tmp_path):
    _, _, _, cfg = held_out_expectation(tmp_path)
    cfg.fit_dataloader = dict(dataset=dict(
        type='SyntheticShapes', num_images=7, split='test',
        class_split='base', test_mode=True))
    held = CalibratorFitHook().fit_dataset(SimpleNamespace(cfg=cfg),
                                           eval_loop())
    assert held[0]['inputs'].shape == (3, 32, 32)


def test_fit_hook_stores_and_reuses_the_fitted_state(tempscale_run,
                                                     tmp_path):
    """tools/test.py --calibrators dac tempscale, three times.

    The fitted temperature is stored beside the checkpoint with what it
    was fitted for; an identical run loads it, a changed calibrator list
    refits. DAC and temperature scaling only rescale logits by positive
    factors, so every recognition metric is the same whatever the
    calibrators.
    """
    work = tempscale_run
    config, ckpt = demo('tempscale'), work / 'epoch_2.pth'
    opts = options(work) + TS_OPTIONS
    state_path = work / 'epoch_2_calib1_TemperatureScaling.json'
    assert not state_path.exists()
    # The validation after epoch 2 fitted the temperature in memory only.
    train_log = logs(work)
    assert 'TemperatureScaling: T = ' in train_log
    assert 'Held-out data for post-hoc calibrators' in train_log
    assert 'Fitted calibrator state written' not in train_log
    assert not list(work.glob('*_calib*.json'))

    first, log = evaluate(config, ckpt, tmp_path / 'a', 'ts_a',
                          '--calibrators', 'dac', 'tempscale',
                          cfg_options=opts)
    assert f'Fitted calibrator state written to {state_path}' in log
    record = json.loads(state_path.read_text())
    assert record['calibrator'] == dict(type='TemperatureScaling',
                                        per_class=False)
    assert record['before'] == [dict(type='DAC', k=5, base_guard=True,
                                     guard_threshold=0.05)]
    assert record['checkpoint_sha256'] == hashlib.sha256(
        ckpt.read_bytes()).hexdigest()
    _, second, held_ids, _ = held_out_expectation(work, shots=2)
    assert record['fit_data'] == dict(
        dataset='SyntheticShapes', source='train48-seed0',
        num_images=len(held_ids), classes=BASE)
    removed = len(second) - len(held_ids)
    assert (f'Held-out data for post-hoc calibrators: {len(held_ids)} '
            f'images (few-shot seed 1001, {removed} training images '
            'removed)') in log
    temperature = record['state']['temperature']
    assert 1e-2 < temperature < 1e2 and temperature != 1.0  # not clipped
    assert record['state']['class_temperatures'] == {}
    # base classes are never scaled (their tuned distance to themselves is
    # 0); trained at this learning rate, some new classes come within the
    # guard's 0.05 of a base class too, so not all of them are scaled
    scaled, total, names = dac_line(log)
    assert total == 12 and scaled == len(names) and set(names) <= set(NEW)
    stored = state_path.read_bytes()

    again, log = evaluate(config, ckpt, tmp_path / 'b', 'ts_b',
                          '--calibrators', 'dac', 'tempscale',
                          cfg_options=opts)
    assert f'Loaded fitted calibrator state {state_path}' in log
    assert 'Fitted calibrator state written' not in log
    assert again == first
    assert state_path.read_bytes() == stored

    # Another DAC before the temperature (from a file): refitted. Both
    # DACs leave the base classes, the only ones in the fitting data,
    # unscaled: the same temperature, the same base-class results.
    dac_k2 = tmp_path / 'dac_k2.py'
    dac_k2.write_text("calibrators = [dict(type='DAC', k=2)]\n")
    refitted, log = evaluate(config, ckpt, tmp_path / 'c', 'ts_c',
                             '--calibrators', dac_k2, 'tempscale',
                             cfg_options=opts)
    assert 'was fitted with another configuration or data; refitting' in log
    assert f'Fitted calibrator state written to {state_path}' in log
    record = json.loads(state_path.read_text())
    assert record['before'] == [dict(type='DAC', k=2)]
    assert record['state']['temperature'] == pytest.approx(temperature,
                                                           rel=1e-9)
    assert refitted.keys() == first.keys()
    for key, value in first.items():
        if key.startswith('recog/') or key.endswith('_base'):
            assert refitted[key] == pytest.approx(value, abs=1e-12), key
    assert any(refitted[f'calib/{m}_new'] != first[f'calib/{m}_new']
               for m in ('ECE', 'ACE', 'MCE', 'PIECE'))

    known = sorted(osp.splitext(f)[0] for f in os.listdir(CALIBRATOR_DIR))
    assert known == ['ccr', 'dac', 'dor', 'none', 'tempscale']
    with pytest.raises(FileNotFoundError) as err:
        evaluate(config, ckpt, tmp_path / 'e', 'ts_e', '--calibrators',
                 'foo', cfg_options=opts)
    assert "'foo'" in str(err.value)
    assert ', '.join(known) in str(err.value)


def test_checkpoint_training_classes_are_the_test_base_classes(
        tempscale_run, tmp_path):
    """tools/train.py records the training classes in the checkpoint;
    tools/test.py uses them as DAC's base classes, not the metainfo's.

    The edited checkpoint names 3 training classes and has a small random
    context (as before training), so that no other class comes within the
    guard distance of them: DAC then scales exactly the other 9.
    """
    ckpt = torch.load(tempscale_run / 'epoch_2.pth', weights_only=True)
    state = ckpt['state_dict']
    assert ckpt['meta']['train_classnames'] == BASE
    ckpt['meta']['train_classnames'] = BASE[:3]
    gen = torch.Generator().manual_seed(0)
    state['learner.ctx'] = 0.02 * torch.randn(
        state['learner.ctx'].shape, generator=gen)
    edited = tmp_path / 'edited.pth'
    torch.save(ckpt, edited)
    _, log = evaluate(demo('tempscale'), edited, tmp_path / 't', 'edited',
                      '--calibrators', 'dac',
                      cfg_options=options(tempscale_run) + TS_OPTIONS)
    assert dac_line(log) == (9, 12, BASE[3:] + NEW)


# ---------------------------------------------------------------------- #
# every calibrator end to end                                            #
# ---------------------------------------------------------------------- #
@pytest.mark.parametrize('name', ['bce', 'ccr', 'dac', 'dor'])
def test_every_calibrator_trains_and_tests(name, tmp_path, monkeypatch):
    """tools/train.py then tools/test.py on each demo config.

    Temperature scaling's demo is the one trained for the fit-hook tests.
    """
    opts = options(tmp_path)
    if name == 'dor':
        # A relative path: a long string in ``model.calibrators`` makes
        # every ``Config.pretty_text`` (yapf) several times slower.
        monkeypatch.chdir(tmp_path)
        write_vocab(tmp_path / 'nouns.txt')
        opts.append('model.calibrators.0.vocab_file=nouns.txt')
    work = tmp_path / 'train'
    train(demo(name), work, f'{name}_train', *opts)
    metrics, log = evaluate(demo(name), work / 'epoch_1.pth',
                            tmp_path / 'test', f'{name}_test',
                            cfg_options=opts)
    for key in ('recog/mAP_all', 'recog/acc_HM', 'calib/ECE_base',
                'calib/ECE_new', 'calib/PIECE_HM'):
        assert 0.0 <= metrics[key] <= 1.0, key

    records = [r for r in scalars(work) if 'loss' in r]
    assert len(records) == 1  # one training iteration
    losses = records[0]
    extra = dict(bce=None, dac=None, ccr='loss_ccr', dor='loss_dor')[name]
    terms = sorted(k for k in losses if k.startswith('loss_'))
    assert terms == sorted(['loss_cls'] + ([extra] if extra else []))
    assert losses['loss'] == pytest.approx(
        sum(losses[k] for k in terms), abs=1e-3)
    if name == 'ccr':
        assert 'ccr_gap' in losses  # logged, not summed
    if name == 'dor':
        assert ('DOR: outlier pool of 30 of 30 words for 6 training '
                'classes') in logs(work)
    if name == 'dac':
        # trains on base classes only: nothing to scale
        assert dac_line(logs(work))[:2] == (0, 6)
        assert dac_line(log) == (6, 12, NEW)
    else:
        assert 'DAC:' not in log


# ---------------------------------------------------------------------- #
# build_dor_vocab.py                                                     #
# ---------------------------------------------------------------------- #
INDEX_NOUN = """\
  1 This software and database is being provided to you, the LICENSEE, by
  2 Princeton University under the following license.  By obtaining, using
  3 and/or copying this software and database, you agree that you have

zebra n 2 3 @ ~ #m 2 1 02391049 02390640
hot_dog n 2 4 @ ~ + ; 2 1 07697537 10187710
0 n 1 1 @ 1 0 13742358
1-dodecanol n 1 1 @ 1 0 14941787
3-d n 1 2 @ ; 1 0 04260934
a.d. n 1 1 @ 1 0 15141059
jack-o'-lantern n 2 1 @ 2 0 03588414 11637582
x-ray n 3 2 @ + 3 1 04613696 11570693 11570893
Aachen n 1 2 @ #p 1 0 08799583
aardvark n 1 3 @ #m %p 1 0 02063224
Hot_Dog n 1 1 @ 1 0 07697537
"""


def test_build_dor_vocab_from_a_wordnet_index(tmp_path, capsys):
    """Lower case, '_' -> ' ', letters/spaces/hyphens/apostrophes only."""
    wordnet = tmp_path / 'wordnet'
    wordnet.mkdir()
    (wordnet / 'index.noun').write_text(INDEX_NOUN, encoding='utf-8')
    out = tmp_path / 'dor' / 'nouns.txt'
    tool('tools/misc/build_dor_vocab.py', '--wordnet-dir', wordnet, '--out',
         out)
    expected = ['aachen', 'aardvark', 'hot dog', "jack-o'-lantern", 'x-ray',
                'zebra']
    lines = out.read_text(encoding='utf-8').splitlines()
    assert [line for line in lines if not line.startswith('#')] == expected
    assert lines[0].startswith('# DOR outlier vocabulary: 6 WordNet')
    assert load_vocabulary(str(out)) == expected
    assert f'6 nouns written to {out}' in capsys.readouterr().out


def test_build_dor_vocab_without_wordnet(tmp_path, monkeypatch):
    """No index.noun and no nltk: a non-zero exit naming wordnet-base."""
    monkeypatch.setitem(sys.modules, 'nltk', None)  # import nltk fails
    out = tmp_path / 'nouns.txt'
    with pytest.raises(SystemExit) as err:
        tool('tools/misc/build_dor_vocab.py', '--wordnet-dir',
             tmp_path / 'missing', '--out', out)
    message = err.value.code
    assert isinstance(message, str)  # printed, exit status 1
    assert 'wordnet-base' in message
    assert str(tmp_path / 'missing' / 'index.noun') in message
    assert not out.exists()


# ---------------------------------------------------------------------- #
# comparison tables                                                      #
# ---------------------------------------------------------------------- #
def test_summarize_mean_and_sample_std():
    # 1, 2, 4: mean 7/3; squared deviations 16/9, 1/9, 25/9 sum to 42/9;
    # divided by n - 1 = 2: 7/3
    mean, std = summarize([1.0, 2.0, 4.0])
    assert mean == pytest.approx(7 / 3) and std == pytest.approx(
        math.sqrt(7 / 3))
    assert summarize([5.0]) == (5.0, 0.0)
    assert summarize([1.0, math.nan, None, 3.0]) == pytest.approx(
        (2.0, math.sqrt(2)))
    assert all(math.isnan(v) for v in summarize([None, math.nan]))


RUNS = {
    'A': [{'calib/ECE_base': 0.1, 'calib/ECE_new': 0.3, 'calib/MCE_base': 9},
          {'calib/ECE_base': 0.2, 'calib/ECE_new': 0.5, 'calib/MCE_base': 9}],
    'B': [{'calib/ECE_base': 0.05, 'calib/ECE_new': 0.07}],
}


def test_comparison_rows_scale_by_100():
    rows = comparison_rows(RUNS, ['ECE'], ['base', 'new'])
    assert [r['method'] for r in rows] == ['A', 'B']
    # A: base 10 and 20 -> 15 ± 10/√2; new 30 and 50 -> 40 ± 20/√2
    cells = rows[0]['cells']
    assert cells[('ECE', 'base')] == pytest.approx((15, 10 / math.sqrt(2),
                                                    2))
    assert cells[('ECE', 'new')] == pytest.approx((40, 20 / math.sqrt(2), 2))
    assert rows[1]['cells'][('ECE', 'new')] == pytest.approx((7, 0, 1))
    with pytest.raises(KeyError) as err:
        comparison_rows(RUNS, ['MCE'], ['base'])
    assert "B: no metric 'MCE' for group 'base'" in str(err.value)


def test_table_text_markdown_and_csv():
    rows = comparison_rows(RUNS, ['calib/ECE'], ['base', 'new'])
    assert to_markdown(rows, ['calib/ECE'], ['base', 'new']) == (
        '| Method | ECE base | ECE new |\n'
        '|---|---:|---:|\n'
        '| A | 15.00 ± 7.07 | 40.00 ± 14.14 |\n'
        '| B | 5.00 | 7.00 |\n')
    assert to_csv(rows, ['calib/ECE'], ['base', 'new']) == (
        'method,runs,ECE_base_mean,ECE_base_std,ECE_new_mean,ECE_new_std\n'
        'A,2,15.0000,7.0711,40.0000,14.1421\n'
        'B,1,5.0000,0.0000,7.0000,0.0000\n')
    assert to_markdown(rows, ['calib/ECE'], ['base'], digits=1).endswith(
        '| B | 5.0 |\n')
    assert cell_text(rows, ['calib/ECE'], ['new']) == {
        'A': ['40.00 ± 14.14'], 'B': ['7.00']}
    missing = comparison_rows({'C': [{'ECE_base': None}]}, ['ECE'],
                              ['base'])
    assert to_markdown(missing, ['ECE'], ['base']).endswith('| C | – |\n')


def test_metric_key_bare_and_prefixed():
    metrics = {'recog/mAP_HM': 1, 'calib/MCE_base': 2, 'calib/ECE_base': 3,
               'ECE_new': 4}
    assert metric_key(metrics, 'ECE', 'base') == 'calib/ECE_base'
    assert metric_key(metrics, 'calib/ECE', 'base') == 'calib/ECE_base'
    assert metric_key(metrics, 'recog/ECE', 'base') is None
    assert metric_key(metrics, 'CE', 'base') is None  # not a suffix match
    assert metric_key(metrics, 'mAP', 'HM') == 'recog/mAP_HM'
    assert metric_key(metrics, 'ECE', 'new') == 'ECE_new'
    assert metric_key(metrics, 'calib/ECE', 'new') is None


class FakeRunner:
    """Records what ``execute`` asks of the runner."""

    calls: list = []

    def __init__(self, cfg):
        self.cfg = cfg

    @classmethod
    def from_cfg(cls, cfg):
        cls.calls.append('build')
        return cls(cfg)

    def register_hook(self, hook, priority=None):
        self.calls.append('hook')

    def train(self):
        self.calls.append('train')

    def test(self):
        self.calls.append('test')
        return {'calib/ECE_base': 0.25}


def test_seeded_config_and_execute(tmp_path, monkeypatch):
    monkeypatch.setattr(runs, 'Runner', FakeRunner)
    monkeypatch.setattr(FakeRunner, 'calls', [])
    work = str(tmp_path / 'run')
    cfg = seeded_config(demo('bce'), work, seed=3,
                        cfg_options={'train_cfg.max_epochs': 1})
    assert cfg.work_dir == work and cfg.log_level == 'WARNING'
    assert cfg.randomness.seed == 3
    assert cfg.train_dataloader.dataset.seed == 3
    assert cfg.train_cfg.max_epochs == 1

    assert execute(cfg) == {'calib/ECE_base': 0.25}
    assert FakeRunner.calls == ['build', 'train', 'test']
    FakeRunner.calls.clear()
    execute(cfg, train=False)  # test a checkpoint (cfg.load_from)
    assert FakeRunner.calls == ['build', 'test']
    FakeRunner.calls.clear()
    cfg.train_cfg = None  # a config that only tests (zero-shot)
    execute(cfg)
    assert FakeRunner.calls == ['build', 'test']


def test_compare_calibrators_tool(tmp_path, capsys, monkeypatch):
    """Two demo configs, one epoch: table, files, then finished runs are
    skipped (the tool is a case of the grid runner)."""
    work = tmp_path / 'compare'
    args = [demo('bce'), demo('ccr'), '--work-dir', work, '--cfg-options',
            *options(tmp_path)]
    tool('tools/analysis_tools/compare_calibrators.py', *args)
    out = capsys.readouterr().out
    names = ['coop_bce_shapes_tiny', 'coop_ccr_shapes_tiny']
    records = [json.loads(line) for line in
               (work / 'results.jsonl').read_text().splitlines()]
    assert [r['run'] for r in records] == [f'{n}/seed1' for n in names]
    metrics = {r['cell']['config']: r['metrics'] for r in records}
    for name in names:
        assert name in out
        assert (work / 'runs' / name / 'seed1' / 'epoch_1.pth').is_file()
    assert f'written {work}/comparison.md' in out

    groups = ['base', 'new', 'HM']
    header = ['Method'] + [f'{m} {g}' for m in ('ECE', 'ACE', 'MCE', 'PIECE')
                           for g in groups]
    text = (work / 'comparison.md').read_text().splitlines()
    lines = [line for line in text if line.startswith('|')]
    assert lines[0] == '| ' + ' | '.join(header) + ' |'
    assert len(lines) == 4
    # the conventions follow the table (issue 17)
    assert any(line.startswith('- calib: p = sigmoid(logit); mode binary')
               for line in text)
    for line, name in zip(lines[2:], names, strict=True):
        cells = [f'{100 * metrics[name][f"calib/{m}_{g}"]:.2f}'
                 for m in ('ECE', 'ACE', 'MCE', 'PIECE') for g in groups]
        assert line == '| ' + ' | '.join([name] + cells) + ' |'
    table = list(csv.reader(io.StringIO(
        (work / 'comparison.csv').read_text())))
    assert [row[:2] for row in table[1:]] == [[n, '1'] for n in names]
    assert table[1][2] == f'{100 * metrics[names[0]]["calib/ECE_base"]:.4f}'

    # Again: the finished runs are skipped; nothing is built or trained.
    def no_runner(cfg):
        raise AssertionError('a finished run was run again')

    monkeypatch.setattr(runs.Runner, 'from_cfg', no_runner)
    tool('tools/analysis_tools/compare_calibrators.py', *args)
    out = capsys.readouterr().out
    assert '2 runs, 2 finished' in out
    assert (work / 'comparison.md').read_text().splitlines() == text
    assert len((work / 'results.jsonl').read_text().splitlines()) == 2


def test_fitted_state_of_other_weights_is_not_reused(tmp_path):
    """A checkpoint overwritten by a new training run must be refitted."""
    path = tmp_path / 'epoch_1_calib0_TemperatureScaling.json'
    record = dict(calibrator=dict(type='TemperatureScaling'), before=[],
                  fit_data=dict(num_images=3), checkpoint_sha256='aa')
    path.write_text(json.dumps(dict(record, state=dict(temperature=2.5))))
    calibrator = TemperatureScaling()
    assert not CalibratorFitHook._load(calibrator, str(path),
                                       dict(record, checkpoint_sha256='bb'))
    assert calibrator.fit_state() is None
    assert CalibratorFitHook._load(calibrator, str(path), record)
    assert calibrator.fit_state() == dict(temperature=2.5,
                                          class_temperatures={})


def test_table_columns_per_metric_groups():
    columns = table_columns(['ECE', 'Gap:base,new'], ['base', 'new', 'HM'])
    assert columns == [('ECE', 'base'), ('ECE', 'new'), ('ECE', 'HM'),
                       ('Gap', 'base'), ('Gap', 'new')]
    runs = {'m': [{'calib/ECE_base': 0.1, 'calib/ECE_new': 0.2,
                   'calib/ECE_HM': 0.15, 'calib/Gap_base': -0.05,
                   'calib/Gap_new': 0.3}]}
    text = to_markdown(comparison_rows(runs, ['ECE', 'Gap:base,new'],
                                       ['base', 'new', 'HM']),
                       ['ECE', 'Gap:base,new'], ['base', 'new', 'HM'])
    assert text.splitlines()[0] == ('| Method | ECE base | ECE new | ECE HM '
                                    '| Gap base | Gap new |')
    assert text.splitlines()[2] == ('| m | 10.00 | 20.00 | 15.00 | -5.00 '
                                    '| 30.00 |')
