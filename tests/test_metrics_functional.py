"""Tests of ``mmccr.evaluation.functional`` (AP, accuracy, ECE, groups)."""
import math

import numpy as np
import pytest
import torch
from metric_reference import (
    HAND_LOGITS,
    HAND_TARGETS,
    LN3,
    LN19,
    col,
    loop_triples,
    sig,
)
from torchmetrics.functional.classification import binary_calibration_error

from mmccr.evaluation.functional import (
    accuracy,
    average_precision,
    binned_gaps,
    confidence_gap,
    ece,
    group_means,
    harmonic_mean,
)

NAN = float('nan')


def loop_ap(scores, targets):
    """AP of one class: mean precision at the rank of each positive."""
    pairs = zip(scores, targets, strict=True)
    ranked = sorted((s, t) for s, t in pairs if t >= 0)
    ranked.reverse()  # descending scores (test data has no ties)
    hits, precisions = 0, []
    for rank, (_, t) in enumerate(ranked, start=1):
        if t == 1:
            hits += 1
            precisions.append(hits / rank)
    return sum(precisions) / len(precisions) if precisions else NAN


def loop_ece(conf, correct, n_bins=10):
    """ECE with DAC bins: [b/M, (b+1)/M); 1.0 only in the last weight."""
    n = len(conf)
    total = 0.0
    for b in range(n_bins):
        lo, hi = b / n_bins, (b + 1) / n_bins
        members = [k for k in range(n) if lo <= conf[k] < hi]
        weight = len(members)
        if b == n_bins - 1:
            weight += sum(1 for c in conf if c == 1.0)
        if members:
            acc = sum(correct[k] for k in members) / len(members)
            mean_conf = sum(conf[k] for k in members) / len(members)
            total += weight / n * abs(acc - mean_conf)
    return total


def random_data(seed, n=300, c=3):
    """Random logits with a few saturated ones, labels in {1, 0, -1}."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.5, size=(n, c))
    logits[rng.random((n, c)) < 0.05] = 50.0  # sigma(50) == 1.0
    logits[rng.random((n, c)) < 0.05] = -50.0
    targets = (rng.random((n, c)) < 0.4).astype(np.float64)
    targets[rng.random((n, c)) < 0.1] = -1
    return logits, targets


# ------------------------------------------------------------------ AP


def test_average_precision_by_hand():
    """Hand AP; NaN without a positive; -1 targets are skipped."""
    scores = np.array([[0.9, 0.9, 0.9], [0.8, 0.8, 0.8],
                       [0.7, 0.7, 0.7], [0.6, 0.6, 0.6]])
    targets = np.array([[1, 0, -1], [0, 0, 0], [1, 0, 1], [0, 0, 1]])
    ap = average_precision(scores, targets)
    # class 0: positives at ranks 1 and 3: (1/1 + 2/3) / 2 = 5/6
    assert ap[0] == pytest.approx(5 / 6)
    # class 1: no positive
    assert np.isnan(ap[1])
    # class 2: known ranks .8 (0), .7 (1), .6 (1): (1/2 + 2/3) / 2 = 7/12
    # (counting the -1 as a negative would give (1/3 + 2/4) / 2 = 5/12)
    assert ap[2] == pytest.approx(7 / 12)


def test_average_precision_matches_loop_and_is_monotone_invariant():
    """Random data: the sorted loop agrees; sigmoid scores give the same."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(40, 5))
    targets = (rng.random((40, 5)) < 0.3).astype(int)
    targets[rng.random((40, 5)) < 0.1] = -1
    ap = average_precision(logits, targets)
    for c in range(5):
        assert ap[c] == pytest.approx(loop_ap(logits[:, c], targets[:, c]))
    probs = torch.sigmoid(torch.from_numpy(logits))
    assert np.allclose(average_precision(probs, targets), ap)


def test_average_precision_perfect_and_worst_ranking():
    """All positives first gives 1; all last gives the hand value."""
    scores = col(4.0, 3.0, 2.0, 1.0)
    assert average_precision(scores, col(1, 1, 0, 0))[0] == 1.0
    # positives at ranks 3 and 4: (1/3 + 2/4) / 2 = 5/12
    assert average_precision(scores, col(0, 0, 1, 1))[0] == \
        pytest.approx(5 / 12)


def test_metrics_reject_bad_shapes():
    """Logits and targets must both be (N, C)."""
    with pytest.raises(ValueError):
        average_precision(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError):
        ece(np.zeros(3), np.zeros(3))


# ------------------------------------------------------------ accuracy


def test_accuracy_by_hand():
    """Decision sigmoid(z) >= 0.5 (z >= 0), per class, -1 skipped."""
    logits = np.array([[1.0, -1.0, 2.0], [-0.5, 2.0, 2.0], [0.0, 0.0, 0.0]])
    targets = np.array([[1, 1, -1], [0, -1, -1], [0, 1, -1]])
    acc = accuracy(logits, targets)
    # class 0: decisions 1, 0, 1 (z = 0 -> p = .5 -> 1) vs 1, 0, 0: 2/3
    assert acc[0] == pytest.approx(2 / 3)
    # class 1: decisions 0, -, 1 vs 1, -, 1: 1/2
    assert acc[1] == pytest.approx(1 / 2)
    # class 2: nothing known
    assert np.isnan(acc[2])


def test_accuracy_other_threshold():
    """Threshold 0.75 is z >= ln 3; sigmoid(1) = 0.73 is below it."""
    logits = col(LN3, 1.0, 2.0)
    # decisions: p = .75 -> 1, p = .731 -> 0, p = .881 -> 1
    acc = accuracy(logits, col(1, 1, 1), threshold=0.75)
    assert acc[0] == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        accuracy(logits, col(1, 1, 1), threshold=1.0)


# ----------------------------------------------------------------- ECE

# One class, p = .95 .75 .5 .25 .05 (z = ln 19, ln 3, 0, -ln 3, -ln 19),
# none on a bin edge except p = .5, the left edge of bin 5.


def test_ece_binary_by_hand():
    """conf max(p, 1-p), correct iff (p >= .5) == y."""
    # conf .95 .75 .5 .75 .95; decisions 1 1 1 0 0 vs y 1 0 1 0 0:
    # correct 1 0 1 1 1.
    # bin 9: {.95, .95}, acc 1, gap .05, weight 2/5
    # bin 7: {.75 wrong, .75 right}, acc .5, gap .25, weight 2/5
    # bin 5: {.5 right}, gap .5, weight 1/5
    # ECE = .4 * .05 + .4 * .25 + .2 * .5 = .22
    value = ece(HAND_LOGITS, HAND_TARGETS)  # 'binary' is the default
    assert value[0] == pytest.approx(0.22)
    assert ece(HAND_LOGITS, HAND_TARGETS, mode='binary')[0] == \
        pytest.approx(0.22)


def test_ece_prob_by_hand():
    """conf p, target y: one sample per bin, gap |y - p|."""
    # |1-.95| + |0-.75| + |1-.5| + |0-.25| + |0-.05| = 1.6, / 5 = .32
    value = ece(HAND_LOGITS, HAND_TARGETS, mode='prob')
    assert value[0] == pytest.approx(0.32)


def test_ece_positive_by_hand():
    """Only y = 1 pairs: p = .95 and .5, both decided positive."""
    # bin 9: gap |1 - .95| = .05, bin 5: gap |1 - .5| = .5, weights 1/2
    value = ece(HAND_LOGITS, HAND_TARGETS, mode='positive')
    assert value[0] == pytest.approx(0.275)


def test_ece_skips_unknown_and_nan_without_pairs():
    """-1 targets are dropped; a class with no included pair is NaN."""
    logits = np.repeat(HAND_LOGITS, 3, axis=1)
    targets = np.array([[-1, 0, -1], [-1, 0, -1], [1, 0, -1],
                        [0, 0, -1], [0, 0, -1]])
    # class 0, 'prob': p .5 (y 1), .25 (y 0), .05 (y 0):
    # (.5 + .25 + .05) / 3
    value = ece(logits, targets, mode='prob')
    assert value[0] == pytest.approx(0.8 / 3)
    assert np.isnan(value[2])
    # class 1 has no positive: nothing to measure in 'positive' mode
    assert np.isnan(ece(logits, targets, mode='positive')[1])
    with pytest.raises(ValueError):
        ece(logits, targets, mode='top1')


@pytest.mark.parametrize('mode', ['binary', 'prob', 'positive'])
@pytest.mark.parametrize('seed', [0, 1])
def test_ece_matches_loop(mode, seed):
    """Random data with saturated logits: the plain loop agrees."""
    logits, targets = random_data(seed)
    value = ece(logits, targets, mode=mode)
    for c in range(logits.shape[1]):
        conf, correct, _ = loop_triples(logits[:, c], targets[:, c], mode)
        assert value[c] == pytest.approx(loop_ece(conf, correct),
                                         abs=1e-12)


def test_binned_gaps_edges():
    """Left-closed bins; conf 1.0 weighs in the last bin only."""
    weights, gaps = binned_gaps(np.array([1.0, 0.95]), np.array([0., 1.]))
    # bin 9 weight 2/2 (histogram counts 1.0), but only .95 is averaged:
    # gap |1 - .95| = .05 (averaging both would give |.5 - .975|)
    assert weights[9] == 1.0 and weights[:9].sum() == 0
    assert gaps[9] == pytest.approx(0.05)
    # only conf 1.0: the weight is there, the gap is 0
    weights, gaps = binned_gaps(np.array([1.0, 1.0]), np.array([0., 0.]))
    assert weights[9] == 1.0 and gaps.sum() == 0
    # 4 bins with exact edges 0, .25, .5, .75, 1: 0 -> bin 0, .25 -> 1,
    # .5 -> 2, .75 -> 3
    conf = np.array([0.0, 0.25, 0.5, 0.75])
    weights, gaps = binned_gaps(conf, np.array([0., 1., 1., 0.]), n_bins=4)
    assert np.allclose(weights, [0.25] * 4)
    assert np.allclose(gaps, [0.0, 0.75, 0.5, 0.75])


def test_ece_conf_one_from_logits():
    """z = 40 gives conf exactly 1.0, dropped from the averages."""
    logits = col(40.0, LN19)
    targets = col(0, 1)
    # 'prob': p = 1.0 (y 0) and .95 (y 1) share bin 9 (weight 1):
    # gap from .95 alone = .05
    assert ece(logits, targets, mode='prob')[0] == pytest.approx(0.05)


def test_ece_uses_float64_from_float32_logits():
    """z = 20 is 1.0 in float32 but 1 - 2e-9 in float64 (D1)."""
    logits = torch.full((4, 1), 20.0, dtype=torch.float32)
    assert torch.sigmoid(logits)[0, 0].item() == 1.0  # float32 saturates
    value = ece(logits, torch.ones(4, 1), mode='positive')
    # conf sigma(20) in bin 9, correct 1: gap = 1 - sigma(20) = sigma(-20)
    assert value[0] == pytest.approx(1 / (1 + math.exp(20)), rel=1e-6)
    assert value[0] > 0


def test_ece_prob_agrees_with_torchmetrics():
    """'prob' on one (flattened) class equals torchmetrics' L1 ECE."""
    rng = np.random.default_rng(3)
    logits = rng.uniform(-4, 4, size=(500, 3))
    targets = (rng.random((500, 3)) < 0.5).astype(np.float64)
    probs = 1 / (1 + np.exp(-logits))
    edges = np.linspace(0, 1, 11)
    assert np.abs(probs[..., None] - edges).min() > 1e-9  # no edge values
    assert probs.max() < 1.0
    reference = binary_calibration_error(
        torch.from_numpy(probs), torch.from_numpy(targets).long(),
        n_bins=10, norm='l1').item()
    flat = ece(logits.reshape(-1, 1), targets.reshape(-1, 1), mode='prob')
    assert flat[0] == pytest.approx(reference, abs=1e-9)
    per_class = ece(logits, targets, mode='prob')
    for c in range(3):
        reference = binary_calibration_error(
            torch.from_numpy(probs[:, c].copy()),
            torch.from_numpy(targets[:, c]).long(), n_bins=10,
            norm='l1').item()
        assert per_class[c] == pytest.approx(reference, abs=1e-9)


def test_ece_small_for_calibrated_predictor():
    """y ~ Bernoulli(p): small 'prob' and 'binary' ECE; sharpened p not."""
    rng = np.random.default_rng(4)
    p = rng.uniform(0.01, 0.99, size=(40000, 1))
    y = (rng.random(p.shape) < p).astype(np.float64)
    logits = np.log(p / (1 - p))
    # each bin holds ~4000 samples: sampling noise ~ sqrt(.25/4000) = .008
    assert ece(logits, y, mode='prob')[0] < 0.02
    # P(correct | max(p, 1-p)) = max(p, 1-p): calibrated too
    assert ece(logits, y, mode='binary')[0] < 0.02
    # tripled logits are over-confident (p = .7 -> .93)
    assert ece(3 * logits, y, mode='prob')[0] > 0.1


@pytest.mark.parametrize('mode', ['binary', 'prob', 'positive'])
def test_ece_saturated_logits_finite(mode):
    """Logits of +-40 give finite errors in [0, 1]."""
    rng = np.random.default_rng(5)
    logits = np.where(rng.random((50, 4)) < 0.5, 40.0, -40.0)
    targets = (rng.random((50, 4)) < 0.5).astype(np.float64)
    value = ece(logits, targets, mode=mode)
    assert np.all(np.isfinite(value))
    assert np.all((value >= 0) & (value <= 1))
    if mode == 'binary':
        # every conf is sigma(40) == 1.0: left out of all averages (DAC),
        # so no bin has members and the error is 0 however wrong it is
        assert np.all(value == 0)


def test_ece_positive_mode_is_degenerate():
    """Predicting p ~ 1 everywhere scores ~0 in 'positive' mode."""
    logits = np.full((6, 2), 10.0)
    targets = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [1, 0], [0, 1]])
    positive = ece(logits, targets, mode='positive')
    # only positives count: conf sigma(10) in bin 9, all correct:
    # |1 - sigma(10)| = 1 / (1 + e^10) ~ 4.5e-5, although half the labels
    # are negatives predicted positive
    assert np.allclose(positive, 1 / (1 + math.exp(10)), rtol=1e-9)
    # 'binary' sees the negatives: acc 1/2 in bin 9, gap sigma(10) - .5
    binary = ece(logits, targets, mode='binary')
    assert np.allclose(binary, sig(10) - 0.5, rtol=1e-9)


# -------------------------------------------------------------- groups


def test_group_means_and_hm():
    """Means skip NaN; empty groups are left out; HM of base and new."""
    per_class = np.array([0.2, NAN, 0.6, 0.4, 0.8])
    groups = {'base': [0, 1, 2], 'new': [3, 4], 'head': [], 'tail': [1]}
    out = group_means(per_class, groups)
    assert out['all'] == pytest.approx(0.5)  # (.2+.6+.4+.8) / 4
    assert out['base'] == pytest.approx(0.4)  # (.2 + .6) / 2
    assert out['new'] == pytest.approx(0.6)  # (.4 + .8) / 2
    assert 'head' not in out
    assert np.isnan(out['tail'])  # only a NaN class
    assert out['HM'] == pytest.approx(0.48)  # 2 * .4 * .6 / 1.0
    no_new = group_means(per_class, {'base': [0, 2]})
    assert 'HM' not in no_new


def test_harmonic_mean():
    """2ab / (a + b), with the 0 and NaN cases."""
    assert harmonic_mean(1.0, 0.5) == pytest.approx(2 / 3)  # 1 / 1.5
    assert harmonic_mean(0.3, 0.3) == pytest.approx(0.3)
    assert harmonic_mean(0.0, 0.0) == 0.0
    assert harmonic_mean(0.0, 0.7) == 0.0
    assert np.isnan(harmonic_mean(NAN, 0.5))


def test_confidence_gap_hand_values():
    # Class 0: logits 0 and ln 3 -> binary confidences 0.5 and 0.75; both
    # decisions (>= 0 -> positive) are right for labels 1, 1: gap
    # (0.5 + 0.75) / 2 - 1 = -0.375 (under-confident).
    # Class 1: logits ln 3 and -ln 3, labels 0, 0 -> confidences 0.75 and
    # 0.75, one right: 0.75 - 0.5 = +0.25 (over-confident).
    # Class 2: only -1 labels -> NaN.
    ln3 = np.log(3.0)
    logits = np.array([[0.0, ln3, 5.0], [ln3, -ln3, -5.0]])
    targets = np.array([[1, 0, -1], [1, 0, -1]])
    gap = confidence_gap(logits, targets)
    assert gap[0] == pytest.approx(-0.375)
    assert gap[1] == pytest.approx(0.25)
    assert np.isnan(gap[2])
    # 'prob' mode: confidence p against the label itself.
    # Class 0: p = 0.5, 0.75 vs labels 1, 1 -> 0.625 - 1.
    prob = confidence_gap(logits, targets, mode='prob')
    assert prob[0] == pytest.approx(-0.375)
    assert prob[1] == pytest.approx((0.75 + 0.25) / 2 - 0.0)


def test_gap_metric_is_signed_and_has_no_harmonic_mean():
    from mmccr.evaluation.metrics import MultiLabelCalibration
    metric = MultiLabelCalibration(items=['ECE', 'Gap'])
    metric.dataset_meta = dict(classes=['a', 'b'],
                               groups=dict(base=[0], new=[1]))
    ln3 = float(np.log(3.0))
    rows = [([0.0, ln3], [1, 0]), ([ln3, -ln3], [1, 0])]
    results = [
        dict(logits=torch.tensor(z), gt_label=torch.tensor(y),
             img_feat=torch.zeros(2)) for z, y in rows
    ]
    out = metric.compute_metrics(results)
    assert out['Gap_base'] == pytest.approx(-0.375)
    assert out['Gap_new'] == pytest.approx(0.25)
    assert 'Gap_HM' not in out and 'ECE_HM' in out
