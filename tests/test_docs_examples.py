"""The examples of docs/adding_components.md, run as a newcomer would.

Every ``python`` block of the page whose first line is ``# my_ext/…`` or
``# configs/…`` is written to a temporary folder outside the repository;
each config then goes through ``tools/train.py`` and ``tools/test.py`` by
name only (``custom_imports``, ``PYTHONPATH``). If the page drifts from
the code, this fails.
"""
import json
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
PAGE = osp.join(REPO, 'docs', 'adding_components.md')
SHORT = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
         'train_dataloader.batch_size=4']


def page_files() -> dict:
    """``{relative path: code}`` of the page's file blocks."""
    with open(PAGE, encoding='utf-8') as f:
        text = f.read()
    files = {}
    for block in re.findall(r'```python\n(.*?)```', text, flags=re.S):
        first = block.splitlines()[0]
        match = re.fullmatch(r'# ((?:my_ext|configs)/\S+\.py)', first)
        if match:
            files[match.group(1)] = block.replace('/path/to/mmccr', REPO)
    return files


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    """The page's package and configs, and a tiny JSON-lines dataset."""
    root = tmp_path_factory.mktemp('my_project')
    for path, code in page_files().items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(code, encoding='utf-8')
    (root / 'my_ext' / '__init__.py').write_text('')
    data = root / 'data'
    (data / 'imgs').mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = ['cat', 'dog', 'bird', 'car']
    for split, num in (('train', 40), ('test', 12)):
        with open(data / f'{split}.jsonl', 'w', encoding='utf-8') as f:
            for i in range(num):
                image = f'imgs/{split}{i}.png'
                Image.fromarray(rng.integers(0, 255, (32, 32, 3),
                                             dtype=np.uint8)).save(
                                                 data / image)
                labels = [n for j, n in enumerate(names) if (i >> j) & 1]
                f.write(json.dumps(dict(image=image, labels=labels)) + '\n')
    return root


def run(project, *args):
    env = dict(os.environ, PYTHONPATH=str(project),
               MY_DATA=str(project / 'data'),
               MMCCR_CACHE_DIR=str(project / 'cache'))
    proc = subprocess.run([sys.executable, *args], cwd=project, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_page_has_the_four_kinds_of_component():
    files = page_files()
    modules = {p for p in files if p.startswith('my_ext/')}
    assert modules == {'my_ext/focal.py', 'my_ext/platt.py',
                       'my_ext/jsonl_dataset.py', 'my_ext/bias_coop.py'}
    for path in modules:  # each module has a config that imports it
        module = path[:-3].replace('/', '.')
        assert any(module in code for p, code in files.items()
                   if p.startswith('configs/')), module


@pytest.mark.parametrize('config, component', [
    ('focal_shapes', 'MyFocalLoss'),
    ('platt_shapes', 'PlattScaling'),
    ('jsonl_data', 'JsonLinesMultiLabel'),
    ('bias_coop_shapes', 'BiasCoOp'),
])
def test_page_example_trains_and_tests(project, config, component):
    path = f'configs/{config}.py'
    work = project / 'work_dirs' / config
    run(project, osp.join(REPO, 'tools', 'train.py'), path, '--work-dir',
        str(work), '--cfg-options', *SHORT)
    run(project, osp.join(REPO, 'tools', 'test.py'), path,
        str(work / 'epoch_1.pth'), '--work-dir', str(work / 'test'),
        '--out', str(work / 'metrics.json'))
    metrics = json.loads((work / 'metrics.json').read_text())
    assert 0 <= metrics['recog/mAP_all'] <= 1
    log = ''.join(open(p, encoding='utf-8').read()
                  for p in work.glob('*/*.log'))
    assert component in log  # the config really used the page's class
