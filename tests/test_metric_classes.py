"""The mmengine metric classes: group aggregation, keys and details."""
import math

import numpy as np
import pytest
import torch

from mmccr.engine.hooks.evaluation_report_hook import metrics_table
from mmccr.evaluation import MultiLabelCalibration, MultiLabelRecognition

# 4 images x 4 classes; classes 0-1 are base, 2-3 new.
LOGITS = np.array([[3., -1., 2., -2.],
                   [1., 2., -1., -3.],
                   [-2., 1., 0.5, 1.],
                   [-1., -2., -0.5, 2.]])
LABELS = np.array([[1, 0, 1, 0],
                   [1, 1, 0, 0],
                   [0, 1, 0, 1],
                   [0, 0, 1, 1]])
META = dict(classes=['a', 'b', 'c', 'd'],
            groups={'base': [0, 1], 'new': [2, 3], 'tail': []})


def evaluate(metric, logits=LOGITS, labels=LABELS, feats=None):
    """Feed samples one by one as the model's predict mode returns them."""
    metric.dataset_meta = META
    samples = []
    for i in range(len(logits)):
        sample = dict(logits=torch.tensor(logits[i]),
                      gt_label=torch.tensor(labels[i], dtype=torch.float32))
        if feats is not None:
            sample['img_feat'] = torch.tensor(feats[i])
        samples.append(sample)
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


def test_recognition_groups_by_hand():
    """mAP per class by hand, averaged per group, and the HM."""
    metrics = evaluate(MultiLabelRecognition(items=('mAP', 'acc')))
    # Class 0: scores 3, 1, -2, -1 -> positives ranked 1, 2: AP 1.
    # Class 1: scores 2, 1 (pos), -1, -2 -> AP 1.
    # Class 2: scores 2 (pos), 0.5, -0.5 (pos), -1 -> (1/1 + 2/3) / 2.
    # Class 3: scores 2 (pos), 1 (pos) ranked first -> AP 1.
    ap = [1., 1., (1 + 2 / 3) / 2, 1.]
    assert metrics['mAP_base'] == pytest.approx(1.)
    assert metrics['mAP_new'] == pytest.approx((ap[2] + ap[3]) / 2)
    assert metrics['mAP_all'] == pytest.approx(sum(ap) / 4)
    b, n = metrics['mAP_base'], metrics['mAP_new']
    assert metrics['mAP_HM'] == pytest.approx(2 * b * n / (b + n))
    # Accuracy at 0.5 (z >= 0): class 2 wrong on images 1 (0.5 > 0, label
    # 0) and 3 (-0.5, label 1) -> 0.5; the other classes are all right.
    assert metrics['acc_new'] == pytest.approx((0.5 + 1.) / 2)
    # An empty group produces no key.
    assert not any(k.endswith('_tail') for k in metrics)


def test_recognition_per_group_items_use_group_columns():
    """OF1 of a group pools only that group's decisions."""
    metrics = evaluate(MultiLabelRecognition(items=('OP', 'OR', 'OF1')))
    # New columns: decisions z >= 0 -> (1,0),(0,0),(1,1),(0,1);
    # labels (1,0),(0,0),(0,1),(1,1): TP = 3, FP = 1, FN = 1.
    assert metrics['OP_new'] == pytest.approx(3 / 4)
    assert metrics['OR_new'] == pytest.approx(3 / 4)
    assert metrics['OF1_new'] == pytest.approx(3 / 4)
    # Base columns: all 4 positives found, no false positive.
    assert metrics['OF1_base'] == pytest.approx(1.)


def test_recognition_rejects_unknown_items():
    """A typo in items is an error that names it."""
    with pytest.raises(ValueError, match='mAp'):
        MultiLabelRecognition(items=('mAp', ))


def test_calibration_ece_prob_mode_by_hand():
    """ECE in 'prob' mode for a class whose sigmoids are easy to compute."""
    # Class 0 logits ln 3, ln 3, -ln 3, -ln 3 -> p = .75, .75, .25, .25;
    # labels 1, 0, 0, 0: bin [0.7, 0.8): acc 0.5, conf 0.75; bin [0.2,
    # 0.3): acc 0, conf 0.25. ECE = 0.5 * 0.25 + 0.5 * 0.25 = 0.25.
    z = math.log(3)
    logits = np.array([[z], [z], [-z], [-z]])
    labels = np.array([[1], [0], [0], [0]])
    metric = MultiLabelCalibration(mode='prob', items=('ECE', ))
    metric.dataset_meta = dict(classes=['a'], groups={})
    samples = [dict(logits=torch.tensor(logits[i]),
                    gt_label=torch.tensor(labels[i], dtype=torch.float32))
               for i in range(4)]
    metric.process({}, samples)
    metrics = metric.compute_metrics(metric.results)
    assert metrics == {'ECE_all': pytest.approx(0.25)}
    stats = metric.details['reliability']['groups']['all']
    assert stats['count'][7] == 2 and stats['count'][2] == 2
    assert stats['acc'][7] == pytest.approx(0.5)
    assert stats['conf'][2] == pytest.approx(0.25)
    assert stats['ece_pooled'] == pytest.approx(0.25)
    assert stats['acc'][0] is None  # empty bin


def test_calibration_groups_and_invariants():
    """Group means of the per-class errors, and MCE <= ECE <= PIECE."""
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (60, 4))
    labels = (rng.random((60, 4)) < 0.4).astype(int)
    feats = rng.normal(size=(60, 8))
    metric = MultiLabelCalibration()
    metrics = evaluate(metric, logits, labels, feats)
    per_class = metric.details['per_class']
    for name in ('ECE', 'ACE', 'MCE', 'PIECE'):
        assert metrics[f'{name}_base'] == pytest.approx(
            np.mean(per_class[name][:2]))
        assert metrics[f'{name}_new'] == pytest.approx(
            np.mean(per_class[name][2:]))
    for c in range(4):
        assert per_class['MCE'][c] <= per_class['ECE'][c] + 1e-12
        assert per_class['ECE'][c] <= per_class['PIECE'][c] + 1e-12
    groups = metric.details['reliability']['groups']
    assert groups['new']['n_pairs'] == 120 and groups['new']['n_classes'] == 2
    assert groups['new']['ece_mean'] == pytest.approx(metrics['ECE_new'])


def test_piece_uses_reference_features_when_given():
    """Reference features change the proximity bins, hence PIECE."""
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 2, (40, 4))
    labels = (rng.random((40, 4)) < 0.5).astype(int)
    feats = rng.normal(size=(40, 3))
    own = evaluate(MultiLabelCalibration(items=('PIECE', )), logits, labels,
                   feats)
    metric = MultiLabelCalibration(items=('PIECE', ))
    # References far along one axis: proximity ranks images by that axis.
    metric.reference_features = np.array([[50., 0., 0.]] * 5)
    ref = evaluate(metric, logits, labels, feats)
    assert own['PIECE_all'] != pytest.approx(ref['PIECE_all'])


def test_metrics_table_rows_columns_and_scaling():
    """Keys become rows and group columns; values are shown x100."""
    table = metrics_table(
        {'calib/ECE_base': 0.1234, 'calib/ECE_new': float('nan'),
         'recog/mAP_all': 0.5}, 'title')
    headers = [c.header for c in table.columns]
    assert headers == ['metric (×10⁻²)', 'all', 'base', 'new']
    rows = {table.columns[0]._cells[i]: [c._cells[i] for c in
                                         table.columns[1:]]
            for i in range(table.row_count)}
    assert rows['ECE'] == ['–', '12.34', '–']
    assert rows['mAP'] == ['50.00', '–', '–']


@pytest.mark.parametrize('kwargs,word', [
    (dict(mode='probs'), 'probs'),
    (dict(ace_variant='nixxon'), 'nixxon'),
    (dict(n_bins=0), 'n_bins'),
    (dict(items=('ECE', 'SCE')), 'SCE'),
])
def test_calibration_rejects_bad_options_when_built(kwargs, word):
    """A typo fails when the metric is built, naming the value."""
    with pytest.raises(ValueError, match=word):
        MultiLabelCalibration(**kwargs)


def test_metrics_table_disambiguates_prefixes():
    """Two metrics reporting the same item get prefixed row labels."""
    table = metrics_table({'calib/ECE_all': 0.1, 'calib_prob/ECE_all': 0.2,
                           'calib/MCE_all': 0.3}, 'title')
    labels = list(table.columns[0]._cells)
    assert labels == ['calib/ECE', 'calib_prob/ECE', 'MCE']


@pytest.mark.parametrize('metric', [
    MultiLabelRecognition(items=('mAP', 'acc')),
    MultiLabelCalibration(items=('ECE', ))
])
def test_metrics_refuse_non_finite_logits(metric):
    """NaN / inf logits are refused with their count and the first one."""
    logits = LOGITS.copy()
    logits[2, 1] = np.nan
    logits[3, 0] = np.inf
    logits[3, 3] = np.nan
    with pytest.raises(ValueError) as info:
        evaluate(metric, logits=logits)
    msg = str(info.value)
    # 3 bad values in 2 of the 4 samples; row-major first: sample 2, class 1.
    assert '3 non-finite logits (NaN or inf) in 2 of 4 samples' in msg
    assert 'the first is sample 2 (dataset order), class 1 (b): nan' in msg
