"""The benchmark's official-style path computes what mmccr computes.

``benchmarks/run_all.py`` times the peers' path (image tower every step,
77-token prompts, CoCoOp's per-image loop, text per evaluation batch)
against mmccr's (feature cache, truncation, batching, text once per
evaluation). Their ratio only means something if both give the same
logits and prompt gradients; this checks it on the tiny CLIP for every
learner, and runs the whole suite once on it.
"""
import copy
import json
import os.path as osp
import sys

import pytest
import torch
from conftest import TINY_CLIP_CFG

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, 'benchmarks'))
import run_all  # noqa: E402

BACKBONE = dict(type='CLIPBackbone', model_cfg=copy.deepcopy(TINY_CLIP_CFG),
                pretrained=None)


@pytest.mark.parametrize('name', list(run_all.LEARNERS))
def test_official_style_step_equals_mmccr_step(name):
    model = run_all.build_model(BACKBONE, run_all.LEARNERS[name],
                                ['cat', 'dog', 'traffic light', 'bus'])
    if name == 'CoCoOp':
        with torch.no_grad():  # a visible image-conditioned shift
            model.learner.meta_net[2].weight.normal_(std=0.5)
    images, labels = run_all.batch(model, 3, 4, 'cpu')
    model.feature_caches['bench'] = run_all.cache_of(model, images)
    model.train()
    z_off, g_off = run_all.official_train(model, images, labels)
    z_new, g_new = run_all.mmccr_train(
        model, run_all.samples_for('bench', 3), labels)
    torch.testing.assert_close(z_new, z_off, atol=1e-4, rtol=0)
    scale = float(g_off.abs().max())
    assert scale > 0
    # float32 rounding differs between 77 and truncated positions
    torch.testing.assert_close(g_new, g_off, atol=1e-4 * scale, rtol=0)


def test_suite_runs_and_writes_json(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    run_all.main(['--quick', '--repeats', '1', '--out', str(out),
                  '--backbone-config', osp.join(
                      REPO, 'configs', '_base_', 'backbones',
                      'tiny-clip.py')])
    rows = json.loads(out.read_text())['rows']
    steps = [r for r in rows if 'official_s' in r]
    assert len(steps) == len(run_all.LEARNERS) + 1  # + the evaluation pass
    for row in steps:
        assert row['max_abs_logit_diff'] < 1e-3, row
    assert any(r['case'].startswith('feature cache') for r in rows)
    run_all.main(['--markdown', str(out)])
    table = capsys.readouterr().out.splitlines()
    assert sum(line.startswith('| CoOp train step |') for line in table) == 1
