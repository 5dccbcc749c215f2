"""Evaluation conventions (issue 17): group means, accuracy forms,
probability mappings, DCLR's class-wise errors, the paper preset and the
degenerate-group warnings, each against hand values or a plain loop."""
import io
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine import Config
from test_calibrator_tools import REPO

from mmccr.engine.hooks.evaluation_report_hook import metrics_table
from mmccr.evaluation import MultiLabelCalibration, MultiLabelRecognition
from mmccr.evaluation.comparison import comparison_rows, to_markdown
from mmccr.evaluation.conventions import (
    config_conventions,
    shared_conventions,
)
from mmccr.evaluation.functional import (
    accuracy,
    class_probabilities,
    confidence_and_correct,
    dclr_ece,
    dclr_mce,
    fit_platt,
    group_means,
    positive_accuracy,
    top1_accuracy,
    top1_errors,
)
from mmccr.evaluation.functional.mapping import platt_cv_logits


def evaluate(metric, logits, labels, groups, feats=None):
    metric.dataset_meta = dict(classes=[str(c) for c in
                                        range(labels.shape[1])],
                               groups=groups)
    metric.process({}, [
        dict(logits=torch.tensor(z), gt_label=torch.tensor(y).float(),
             img_feat=torch.tensor(f)) for z, y, f in zip(
                 logits, labels, feats if feats is not None else
                 np.zeros((len(logits), 2)), strict=True)])
    return metric.compute_metrics(metric.results)


# ------------------------------------------------------------ group means


def test_avg_and_hm_differ_as_by_hand():
    # base (0.2, 0.2) -> 0.2, new (0.6, 0.6) -> 0.6:
    # HM = 2 * .2 * .6 / .8 = 0.3; Avg = 0.4
    out = group_means(np.array([.2, .2, .6, .6]),
                      {'base': [0, 1], 'new': [2, 3]})
    assert out['HM'] == pytest.approx(0.3)
    assert out['Avg'] == pytest.approx(0.4)
    # The paper's zero-shot ECE cell: (3.58 + 4.61) / 2 = 4.095
    paper = group_means(np.array([.0358, .0461]), {'base': [0], 'new': [1]})
    assert 100 * paper['Avg'] == pytest.approx(4.095)
    assert 100 * paper['HM'] == pytest.approx(2 * 3.58 * 4.61 / 8.19)


def test_signed_items_get_avg_but_no_hm():
    ln3 = math.log(3)
    logits = np.array([[0.0, ln3], [ln3, -ln3]])
    labels = np.array([[1, 0], [1, 0]])
    out = evaluate(MultiLabelCalibration(items=('ECE', 'Gap')), logits,
                   labels, dict(base=[0], new=[1]))
    # Gap base -0.375, new +0.25 (see test_metrics_functional)
    assert out['Gap_Avg'] == pytest.approx((-0.375 + 0.25) / 2)
    assert 'Gap_HM' not in out
    assert out['ECE_Avg'] == pytest.approx(
        (out['ECE_base'] + out['ECE_new']) / 2)


# -------------------------------------------------------- accuracy forms


def test_accuracy_forms_by_hand():
    # 3 images x 4 classes, decisions z >= 0.
    logits = np.array([[2., 1., -1., -3.],
                       [-1., -2., -0.5, 0.3],
                       [-1., 4., -2., -2.]])
    labels = np.array([[1, 0, 0, 0],
                       [1, 0, 0, 0],
                       [0, 0, 0, 1]])
    # Hamming: wrong pairs (0,1), (1,0), (1,3), (2,1), (2,3): 7 / 12
    assert np.mean(accuracy(logits, labels)) == pytest.approx(7 / 12)
    # Positive pairs (recall): class 0 has 1 of 2, class 3 has 0 of 1;
    # classes 1 and 2 have no positive (NaN).
    rec = positive_accuracy(logits, labels)
    assert rec[0] == pytest.approx(0.5) and rec[3] == 0
    assert np.isnan(rec[1]) and np.isnan(rec[2])
    # Top-1 in Y: image 0 top class 0 (label), image 1 top class 3 (not a
    # label), image 2 top class 1 (not a label): 1 / 3
    assert top1_accuracy(logits, labels) == pytest.approx(1 / 3)
    # An image without a label is left out of top-1.
    labels2 = labels.copy()
    labels2[2] = 0
    assert top1_accuracy(logits, labels2) == pytest.approx(1 / 2)


def test_top1_acc_item_is_per_group():
    logits = np.array([[2., 1., -1., 3.], [-1., 2., 5., -2.]])
    labels = np.array([[1, 0, 1, 0], [0, 1, 0, 1]])
    out = evaluate(MultiLabelRecognition(items=('top1_acc', )), logits,
                   labels, dict(base=[0, 1], new=[2, 3]))
    # base columns: image 0 -> class 0 (label), image 1 -> class 1 (label)
    assert out['top1_acc_base'] == 1.0
    # new columns: image 0 -> class 3 (not), image 1 -> class 2 (not)
    assert out['top1_acc_new'] == 0.0
    # all columns: image 0 -> class 3 (not), image 1 -> class 2 (not)
    assert out['top1_acc_all'] == 0.0
    assert out['top1_acc_Avg'] == 0.5 and out['top1_acc_HM'] == 0.0


# ----------------------------------------------------------- mappings


def test_softmax_mapping_by_hand():
    # One image, logits ln 1, ln 2, ln 5: softmax 1/8, 2/8, 5/8.
    logits = np.log(np.array([[1., 2., 5.]]))
    labels = np.array([[0, 0, 1]])
    p, q, decision = class_probabilities(logits, labels, 'softmax')
    np.testing.assert_allclose(p, [[1 / 8, 2 / 8, 5 / 8]])
    np.testing.assert_allclose(q, [[7 / 8, 6 / 8, 3 / 8]])
    assert decision.tolist() == [[False, False, True]]
    conf, correct, include = confidence_and_correct(logits, labels,
                                                    'binary', 'softmax')
    np.testing.assert_allclose(conf, [[7 / 8, 6 / 8, 5 / 8]])
    assert correct.tolist() == [[1., 1., 1.]] and include.all()


def plain_dac_ece(conf, correct, n_bins=10):
    """The DAC code's ECE written as a loop: bins [b/M, (b+1)/M)."""
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        members = [(c, k) for c, k in zip(conf, correct, strict=True)
                   if lo <= c < hi]
        if members:
            acc = sum(k for _, k in members) / len(members)
            mean_conf = sum(c for c, _ in members) / len(members)
            total += len(members) / len(conf) * abs(acc - mean_conf)
    return total


def test_dac_reading_against_a_plain_loop():
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 1.5, (50, 5))
    labels = (rng.random((50, 5)) < 0.3).astype(int)
    labels[0] = 0  # an image without a label: left out
    conf, correct = [], []
    for z, y in zip(logits, labels, strict=True):
        if y.sum() == 0:
            continue
        e = np.exp(z - z.max())
        top = int(np.argmax(z))
        conf.append(e[top] / e.sum())
        correct.append(float(y[top] == 1))
    out = top1_errors(logits, labels, ('ECE', 'Gap'))
    assert out['ECE'] == pytest.approx(plain_dac_ece(conf, correct))
    assert out['Gap'] == pytest.approx(np.mean(conf) - np.mean(correct))
    # The metric computes it per group on the group's columns.
    metric = MultiLabelCalibration(mapping='dac', items=('ECE', ))
    got = evaluate(metric, logits, labels, dict(base=[0, 1, 2], new=[3, 4]))
    assert got['ECE_base'] == pytest.approx(
        top1_errors(logits[:, :3], labels[:, :3], ('ECE', ))['ECE'])
    assert got['ECE_Avg'] == pytest.approx(
        (got['ECE_base'] + got['ECE_new']) / 2)


def test_platt_fit_recovers_known_parameters():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 20000)
    y = (rng.random(20000) < 1 / (1 + np.exp(-(0.5 * z - 1.0)))).astype(
        float)
    a, b = fit_platt(z, y)
    assert a == pytest.approx(0.5, abs=0.05)
    assert b == pytest.approx(-1.0, abs=0.08)


def test_platt_cv_maps_each_fold_without_its_own_labels():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (40, 3))
    labels = (logits + rng.normal(0, 2, (40, 3)) > 1).astype(int)
    mapped = platt_cv_logits(logits, labels)
    flipped = labels.copy()
    flipped[0] = 1 - flipped[0]  # image 0 is in the even fold
    again = platt_cv_logits(logits, flipped)
    np.testing.assert_array_equal(mapped[0::2], again[0::2])
    assert not np.allclose(mapped[1::2], again[1::2])
    # within a fold the map is one increasing affine function
    a, b = np.polyfit(logits[1::2].ravel(), mapped[1::2].ravel(), 1)
    np.testing.assert_allclose(mapped[1::2], a * logits[1::2] + b)
    assert a > 0


# ---------------------------------------------------------------- DCLR


def plain_dclr(p_col, y_col, n_bins=15):
    """DCLR's class-wise ECE and MCE of one class, as a loop."""
    n = len(p_col)
    ece_c, mce_c = 0.0, 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        idx = [i for i in range(n) if lo < p_col[i] <= hi]
        if not idx:
            continue
        acc = np.mean([abs(p_col[i] - y_col[i]) <= 0.5 for i in idx])
        conf = np.mean([max(p_col[i], 1 - p_col[i]) for i in idx])
        ece_c += len(idx) / n * abs(conf - acc)
        mce_c = max(mce_c, conf - acc)
    return ece_c, mce_c


def test_dclr_errors_against_a_plain_loop():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 2, (80, 4))
    logits[0, 0] = -800.0  # p = 0 exactly: in no bin, still in N
    logits[1, 1] = 0.0  # p = 0.5: correct whatever the label
    labels = (rng.random((80, 4)) < 0.35).astype(int)
    labels[2, 2] = -1  # skipped
    with np.errstate(over="ignore"):
        p = 1 / (1 + np.exp(-logits))  # 0 exactly at -800
    e, m = dclr_ece(logits, labels), dclr_mce(logits, labels)
    for c in range(4):
        keep = labels[:, c] >= 0
        want_e, want_m = plain_dclr(p[keep, c], labels[keep, c])
        assert e[c] == pytest.approx(want_e)
        assert m[c] == pytest.approx(want_m)


def test_dclr_bins_on_p_differ_from_binary_mode():
    # p = .45 (y 0) and .55 (y 1): binary mode puts both in one confidence
    # bin [.5, .6) with conf .55, acc 1 -> ECE .45; DCLR bins on p: .45 in
    # (.4, .4667], .55 in (.5333, .6], each conf .55, acc 1 -> also .45.
    # With p = .45 (y 1) and .55 (y 1) binary mode: conf .55, acc .5
    # (gap .05); DCLR: .45 wrong (|.45 - 1| > .5) alone in its bin: gap .55
    # weight .5; .55 right: gap .45 weight .5 -> .5.
    z = np.log(np.array([[.45 / .55], [.55 / .45]]))
    y = np.array([[1], [1]])
    from mmccr.evaluation.functional import ece
    assert ece(z, y)[0] == pytest.approx(0.05)
    assert dclr_ece(z, y)[0] == pytest.approx(0.5)


def test_dclr_items_in_the_metric_and_not_under_dac():
    rng = np.random.default_rng(4)
    logits = rng.normal(0, 2, (30, 4))
    labels = (rng.random((30, 4)) < 0.3).astype(int)
    out = evaluate(MultiLabelCalibration(items=('mECE', 'mMCE')), logits,
                   labels, dict(base=[0, 1], new=[2, 3]))
    assert out['mECE_base'] == pytest.approx(
        np.mean(dclr_ece(logits, labels)[:2]))
    with pytest.raises(ValueError, match='mECE'):
        MultiLabelCalibration(mapping='dac', items=('ECE', 'mECE'))
    with pytest.raises(ValueError, match='sigmod'):
        MultiLabelCalibration(mapping='sigmod')


# ------------------------------------------------ degenerate-group warning


def test_degenerate_group_warnings():
    rng = np.random.default_rng(5)
    labels = (rng.random((40, 4)) < 0.2).astype(int)
    # every pair predicted positive with confidence in [0.9, 1.0)
    positive = np.full((40, 4), 2.5) + rng.uniform(0, 0.1, (40, 4))
    metric = MultiLabelCalibration(items=('ECE', ))
    evaluate(metric, positive, labels, dict(base=[0, 1], new=[2, 3]))
    warnings = metric.details['warnings']
    assert any("'base'" in w and '100.0% of its known' in w
               for w in warnings)
    assert any("'new'" in w and 'one bin [0.90, 1.00]' in w
               for w in warnings)
    healthy = MultiLabelCalibration(items=('ECE', ))
    evaluate(healthy, rng.normal(-1, 2, (40, 4)), labels,
             dict(base=[0, 1], new=[2, 3]))
    assert healthy.details['warnings'] == []


# ------------------------------------------------------ tables and preset


def test_tables_name_the_accuracy_forms():
    from rich.console import Console
    table = metrics_table({'recog/acc_base': 0.5, 'recog/top1_acc_base': .4,
                           'recog/positive_acc_base': 0.3}, 'title')
    console = Console(width=80, record=True, file=io.StringIO())
    console.print(table)
    rendered = console.export_text()
    for label in ('acc[Hamming]', 'acc[top-1∈Y]', 'acc[pos-pairs]'):
        assert label in rendered  # not eaten as rich markup
    rows = comparison_rows({'m': [{'recog/acc_base': 0.5}]}, ['acc'],
                           ['base'])
    text = to_markdown(rows, ['acc'], ['base'], notes=['line one'])
    assert text.splitlines()[0] == '| Method | acc[Hamming] base |'
    assert text.splitlines()[-1] == '- line one'


def test_shared_conventions_name_the_methods_that_differ():
    lines = shared_conventions({'A': ['x', 'y'], 'B': ['x', 'z']})
    assert lines == ['x', 'A: y', 'B: z']


def paper_leaf(tmp_path):
    leaf = tmp_path / 'leaf.py'
    base = osp.join(REPO, 'configs', '_base_')
    leaf.write_text(
        f"_base_ = ['{base}/datasets/toyworld_base2new.py', "
        f"'{base}/evaluation/paper.py']\n"
        'val_evaluator = {{_base_.paper_evaluator}}\n'
        'test_evaluator = val_evaluator\n')
    return Config.fromfile(str(leaf))


def test_paper_preset_reports_avg_and_says_it_is_a_reconstruction(
        tmp_path):
    cfg = paper_leaf(tmp_path)
    lines = config_conventions(cfg.test_evaluator)
    assert lines[0].startswith("Paper preset: a reconstruction of the CCR "
                               "paper's evaluation")
    assert any('DAC-evaluator reading' in line for line in lines)
    rng = np.random.default_rng(6)
    logits = rng.normal(0, 2, (30, 4))
    labels = (rng.random((30, 4)) < 0.3).astype(int)
    labels[:, 0] = 1
    from mmccr.registry import METRICS
    out = {}
    for metric_cfg in cfg.test_evaluator:
        metric_cfg = dict(metric_cfg, items=tuple(
            i for i in metric_cfg['items'] if i != 'PIECE'))
        metric = METRICS.build(metric_cfg)
        out.update({f'{metric.prefix}/{k}': v for k, v in evaluate(
            metric, logits, labels,
            dict(base=[0, 1], new=[2, 3], head=[0])).items()})
    assert 'calib/ECE_Avg' in out and 'calib/ECE_HM' not in out
    assert 'recog/top1_acc_Avg' in out and 'calib/ECE_all' not in out
    assert out['calib/ECE_Avg'] == pytest.approx(
        (out['calib/ECE_base'] + out['calib/ECE_new']) / 2)
    # head = one class: softmax over one class gives confidence 1 and the
    # class is every image's label: a perfect top-1
    assert out['recog/top1_acc_head'] == 1.0


def test_report_hook_writes_conventions_and_warnings(tmp_path):
    import json
    from types import SimpleNamespace

    from mmccr.engine.hooks import EvaluationReportHook
    labels = np.eye(4, dtype=int)[np.arange(12) % 4]
    metric = MultiLabelCalibration(items=('ECE', ), note='a preset note')
    metrics = evaluate(metric, np.full((12, 4), 3.0), labels,
                       dict(base=[0, 1], new=[2, 3]))
    loop = SimpleNamespace(
        dataloader=SimpleNamespace(dataset=SimpleNamespace(
            metainfo=dict(classes=list('abcd'), groups={}))),
        evaluator=SimpleNamespace(metrics=[metric]))
    runner = SimpleNamespace(experiment_name='x', work_dir=str(tmp_path),
                             _load_from=None, cfg=Config(dict(model={})))
    path = tmp_path / 'report.json'
    EvaluationReportHook()._report(runner, loop,
                                   {f'calib/{k}': v for k, v in
                                    metrics.items()}, str(path), 'test')
    report = json.loads(path.read_text())
    assert report['convention_notes'][0] == 'a preset note'
    assert any('mode binary' in line for line in report['convention_notes'])
    assert report['conventions'][0]['note'] == 'a preset note'  # arguments
    # every pair positive (z = 3), 1 label in 4: degenerate everywhere
    assert any("'all'" in w and 'predicted positive' in w
               for w in report['warnings'])


def test_softmax_reliability_uses_the_softmax_over_all_classes():
    """A group's reliability statistics slice the softmax over every
    evaluated class (as its errors do), not a softmax over the group."""
    from mmccr.evaluation.functional import reliability_bins
    rng = np.random.default_rng(7)
    logits = rng.normal(0, 2, (30, 4))
    labels = (rng.random((30, 4)) < 0.3).astype(int)
    metric = MultiLabelCalibration(items=('ECE', ), mapping='softmax')
    evaluate(metric, logits, labels, dict(base=[0, 1], new=[2, 3]))
    e = np.exp(logits - logits.max(1, keepdims=True))
    p = (e / e.sum(1, keepdims=True))[:, :2]  # base columns of the softmax
    conf = np.maximum(p, 1 - p).ravel()
    correct = ((p >= 0.5) == (labels[:, :2] == 1)).astype(float).ravel()
    want = reliability_bins(conf, correct, 10)
    got = metric.details['reliability']['groups']['base']
    assert got['count'] == [int(c) for c in want['count']]
