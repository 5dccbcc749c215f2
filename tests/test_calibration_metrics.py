"""Tests of the binned calibration errors (ECE, MCE, ACE, PIECE), the
shared binning helpers and the kNN proximity.

Every expectation is either worked out by hand (arithmetic in comments), a
second formulation written here with plain Python loops, an invariant, or
torchmetrics.
"""
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
)
from torchmetrics.functional.classification import binary_calibration_error

import mmccr.evaluation.functional.knn as knn_module
from mmccr.evaluation.functional import (
    ace,
    binned_gaps,
    ece,
    mce,
    piece,
    proximity,
    quantile_edges,
    reliability_bins,
)

MODES = ('binary', 'prob', 'positive')




# ----------------------------------------------------- loop references


def loop_quantile(values, q):
    """Linearly interpolated q-quantile of a list (numpy's default)."""
    v = sorted(values)
    pos = q * (len(v) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (pos - lo) * (v[hi] - v[lo])


def loop_mass_bins(values, n_bins):
    """Bin of each value for deduplicated quantile edges, by counting the
    interior edges at or below it."""
    edges = sorted({loop_quantile(values, b / n_bins)
                    for b in range(n_bins + 1)})
    interior = edges[1:-1]
    bins = [sum(1 for e in interior if e <= v) for v in values]
    return bins, max(len(edges) - 1, 1)


def loop_weighted_gaps(groups, n):
    """[(n_g / n, |acc_g - conf_g|)] of non-empty groups of (conf, correct)."""
    out = []
    for members in groups:
        if members:
            acc = sum(c for _, c in members) / len(members)
            mean_conf = sum(f for f, _ in members) / len(members)
            out.append((len(members) / n, abs(acc - mean_conf)))
    return out


def loop_width_groups(conf, correct, n_bins):
    """Members of DAC bins [b/M, (b+1)/M) (data without conf 1.0)."""
    groups = [[] for _ in range(n_bins)]
    for f, c in zip(conf, correct, strict=True):
        for b in range(n_bins):
            if b / n_bins <= f < (b + 1) / n_bins:
                groups[b].append((f, c))
    return groups


def loop_ece_mce(conf, correct, n_bins=10):
    """ECE, weighted MCE and textbook MCE (data without conf 1.0)."""
    wg = loop_weighted_gaps(loop_width_groups(conf, correct, n_bins),
                            len(conf))
    return (sum(w * g for w, g in wg), max(w * g for w, g in wg),
            max(g for _, g in wg))


def loop_ace_adaptive(conf, correct, n_bins):
    """AdaECE with explicitly computed quantile edges."""
    bins, n_eff = loop_mass_bins(conf, n_bins)
    groups = [[] for _ in range(n_eff)]
    for b, f, c in zip(bins, conf, correct, strict=True):
        groups[b].append((f, c))
    return sum(w * g for w, g in loop_weighted_gaps(groups, len(conf)))


def loop_ace_nixon(conf, correct, n_bins):
    """Nixon ACE: sorted pairs cut into n_bins runs of equal count."""
    ranked = sorted(zip(conf, correct, strict=True), key=lambda t: t[0])
    n = len(ranked)
    groups, start = [], 0
    for b in range(n_bins):
        size = n // n_bins + (1 if b < n % n_bins else 0)
        groups.append(ranked[start:start + size])
        start += size
    return sum(w * g for w, g in loop_weighted_gaps(groups, n))


def loop_piece(conf, correct, prox, n_conf_bins, n_prox_bins):
    """PIECE with a dict of (proximity bin, confidence bin) cells."""
    prox_bins, _ = loop_mass_bins(prox, n_prox_bins)
    cells = {}
    for pb, f, c in zip(prox_bins, conf, correct, strict=True):
        cb = n_conf_bins - 1  # 1.0 falls in the last bin
        for b in range(n_conf_bins):
            if b / n_conf_bins <= f < (b + 1) / n_conf_bins:
                cb = b
        cells.setdefault((pb, cb), []).append((f, c))
    return sum(w * g for w, g in
               loop_weighted_gaps(list(cells.values()), len(conf)))


def random_data(seed, n=200, c=3, scale=2.5):
    """Random logits (no saturation) and labels in {1, 0, -1}."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, scale, size=(n, c))
    targets = (rng.random((n, c)) < 0.4).astype(np.float64)
    targets[rng.random((n, c)) < 0.1] = -1
    return logits, targets


def counted_data(seed, n=103, c=3, known=98, positives=38):
    """Random logits; per class exactly ``known`` known targets, of which
    ``positives`` are 1. With 98 and 38 pairs (97 and 37 prime) no
    quantile at b/3 or b/10 falls exactly on a data point, where a
    last-bit difference of the interpolated edge could move the point to
    the other bin."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.5, size=(n, c))
    targets = np.full((n, c), -1.0)
    for k in range(c):
        rows = rng.permutation(n)[:known]
        targets[rows, k] = 0
        targets[rows[:positives], k] = 1
    return logits, targets


def assert_off_edges(logits, n_bins=10):
    """No p or max(p, 1-p) on or within 1e-9 of a bin edge, none 1.0."""
    p = 1 / (1 + np.exp(-logits))
    edges = np.linspace(0, 1, n_bins + 1)
    for conf in (p, np.maximum(p, 1 - p)):
        assert np.abs(conf[..., None] - edges).min() > 1e-9
        assert conf.max() < 1.0


# ------------------------------------------------------------ binning


def test_binned_gaps_mass_by_hand():
    """Equal-mass bins of 'binary' HAND triples, 2 bins."""
    conf = np.array([0.95, 0.75, 0.5, 0.75, 0.95])
    correct = np.array([1.0, 0.0, 1.0, 1.0, 1.0])
    # sorted .5 .75 .75 .95 .95: quantiles 0, .5, 1 -> .5, .75, .95;
    # interior edge .75, searchsorted right: .5 -> 0, .75 and .95 -> 1
    weights, gaps = binned_gaps(conf, correct, n_bins=2, binning='mass')
    assert np.allclose(weights, [1 / 5, 4 / 5])
    # bin 0: {.5 right} gap .5; bin 1: acc 3/4, conf 3.4/4 = .85, gap .1
    assert np.allclose(gaps, [0.5, 0.1])
    # the default is still equal-width (DAC) binning: 10 bins
    weights, gaps = binned_gaps(conf, correct)
    assert len(weights) == 10
    assert np.allclose(weights[[5, 7, 9]], [0.2, 0.4, 0.4])
    with pytest.raises(ValueError):
        binned_gaps(conf, correct, binning='quantile')


def test_quantile_edges_ties_and_constant():
    """Ties remove duplicate edges; a constant input gives one bin."""
    values = np.array([0.75] * 6 + [0.95] * 2)
    # positions q * 7 = 0, 1.75, 3.5, 5.25, 7 -> .75 .75 .75, .75 + .25 *
    # (.95 - .75) = .8, .95: unique edges .75, .8, .95 -> 2 bins
    assert np.allclose(quantile_edges(values, 4), [0.75, 0.8, 0.95])
    assert np.allclose(quantile_edges(np.full(5, 0.3), 10), [0.3, 0.3])


def test_reliability_bins_by_hand():
    """Counts, means and NaN for empty bins; 1.0 counted, not averaged."""
    conf = np.array([0.05, 0.15, 0.12, 0.95, 1.0])
    correct = np.array([0.0, 1.0, 0.0, 1.0, 0.0])
    out = reliability_bins(conf, correct, n_bins=5)
    assert np.allclose(out['edges'], [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    # bin 0 [0, .2): .05 .15 .12; bin 4 [.8, 1]: .95 and (weight only) 1.0
    assert list(out['count']) == [3, 0, 0, 0, 2]
    assert out['acc'][0] == pytest.approx(1 / 3)
    assert out['conf'][0] == pytest.approx(0.32 / 3)
    # bin 4 averages .95 alone: acc 1, conf .95
    assert out['acc'][4] == 1.0 and out['conf'][4] == pytest.approx(0.95)
    assert np.all(np.isnan(out['acc'][1:4]))
    assert np.all(np.isnan(out['conf'][1:4]))
    # only conf 1.0: counted, but no mean
    only_one = reliability_bins(np.array([1.0]), np.array([0.0]), n_bins=5)
    assert only_one['count'][4] == 1 and np.isnan(only_one['acc'][4])
    # torch input
    as_torch = reliability_bins(torch.tensor(conf), torch.tensor(correct),
                                n_bins=5)
    assert np.array_equal(as_torch['count'], out['count'])


def test_reliability_bins_reproduce_ece():
    """nansum(count / N * |acc - conf|) over pooled pairs is the ECE."""
    logits, targets = random_data(7)
    logits[:5, 0] = 45.0  # some conf 1.0
    for mode in MODES:
        value = ece(logits[:, :1], targets[:, :1], mode=mode)[0]
        conf, correct, _ = loop_triples(logits[:, 0], targets[:, 0], mode)
        out = reliability_bins(np.array(conf), np.array(correct))
        weights = out['count'] / out['count'].sum()
        pooled = np.nansum(weights * np.abs(out['acc'] - out['conf']))
        assert pooled == pytest.approx(value, abs=1e-12)


# ---------------------------------------------------------------- ECE


@pytest.mark.parametrize('mode, expected', [
    # sorted .5 .75 .75 .95 .95 -> bins {.5} and {.95 .75 .75 .95}:
    # .2 * .5 + .8 * |3/4 - .85| = .1 + .08
    ('binary', 0.18),
    # sorted .05 .25 .5 .75 .95, edges .05 .5 .95: {.05 .25} acc 0 conf
    # .15; {.5 .75 .95} acc 2/3 conf 2.2/3, gap .2/3:
    # .4 * .15 + .6 * .2 / 3 = .06 + .04
    ('prob', 0.10),
    # {.5} and {.95}, each correct: .5 * .5 + .5 * .05
    ('positive', 0.275),
])
def test_ece_mass_by_hand(mode, expected):
    """ECE with 2 equal-mass bins; ACE 'adaptive' is the same thing."""
    value = ece(HAND_LOGITS, HAND_TARGETS, mode=mode, n_bins=2,
                binning='mass')
    assert value[0] == pytest.approx(expected)
    assert ace(HAND_LOGITS, HAND_TARGETS, mode=mode, n_bins=2)[0] == \
        pytest.approx(expected)


def test_ece_width_unchanged_by_hand():
    """The default binning is still the DAC equal-width one (.22, .32)."""
    assert ece(HAND_LOGITS, HAND_TARGETS)[0] == pytest.approx(0.22)
    assert ece(HAND_LOGITS, HAND_TARGETS, mode='prob',
               binning='width')[0] == pytest.approx(0.32)
    with pytest.raises(ValueError):
        ece(HAND_LOGITS, HAND_TARGETS, binning='equal')
    with pytest.raises(ValueError):
        ece(HAND_LOGITS, HAND_TARGETS, n_bins=0)
    with pytest.raises(ValueError):
        ece(HAND_LOGITS, HAND_TARGETS, n_bins=2.5)


# ---------------------------------------------------------------- MCE


@pytest.mark.parametrize('mode, weighted, textbook, ece_value', [
    # bins 9 (w .4, gap .05), 7 (w .4, gap .25), 5 (w .2, gap .5):
    # weighted max(.02, .1, .1) = .1, textbook .5, ECE .22
    ('binary', 0.1, 0.5, 0.22),
    # one pair per bin (w .2), gaps .05 .75 .5 .25 .05:
    # weighted .2 * .75 = .15, textbook .75, ECE 1.6 / 5 = .32
    ('prob', 0.15, 0.75, 0.32),
    # bins 9 (gap .05) and 5 (gap .5), w .5: weighted .25, textbook .5,
    # ECE .275
    ('positive', 0.25, 0.5, 0.275),
])
def test_mce_by_hand(mode, weighted, textbook, ece_value):
    """Weighted (default) and textbook MCE around the hand ECE."""
    assert mce(HAND_LOGITS, HAND_TARGETS, mode=mode)[0] == \
        pytest.approx(weighted)
    assert mce(HAND_LOGITS, HAND_TARGETS, mode=mode, weighted=False)[0] == \
        pytest.approx(textbook)
    assert ece(HAND_LOGITS, HAND_TARGETS, mode=mode)[0] == \
        pytest.approx(ece_value)


def test_mce_conf_one_conventions():
    """conf 1.0 weighs in the last bin but is not averaged (like ECE)."""
    # 'prob': p 1.0 (y 0) and .95 (y 1): bin 9 weight 2/2, gap from .95
    # alone .05 -> both MCEs .05 (averaging both would give .475)
    logits, targets = col(40.0, LN19), col(0, 1)
    assert mce(logits, targets, mode='prob')[0] == pytest.approx(0.05)
    assert mce(logits, targets, mode='prob', weighted=False)[0] == \
        pytest.approx(0.05)
    # only conf 1.0: no bin with an averaged member -> 0, like ECE
    logits, targets = col(40.0, -40.0), col(0, 1)
    for weighted in (True, False):
        assert mce(logits, targets, weighted=weighted)[0] == 0.0


# ---------------------------------------------------------------- ACE


@pytest.mark.parametrize('mode, expected', [
    # sorted .5 .75 .75 .95 .95 split 3 + 2: {.5 (1) .75 (0 or 1) .75}
    # acc 2/3 conf 2/3 gap 0; {.95 .95} acc 1 gap .05: .4 * .05 = .02
    ('binary', 0.02),
    # sorted .05 .25 .5 | .75 .95: {y 0 0 1} acc 1/3 conf .8/3 gap .2/3,
    # w .6 -> .04; {y 0 1} acc .5 conf .85 gap .35, w .4 -> .14
    ('prob', 0.18),
    # {.5} and {.95}: as for 'adaptive', .275
    ('positive', 0.275),
])
def test_ace_nixon_by_hand(mode, expected):
    """Nixon's equal-count ranges, 2 bins (differs from 'adaptive')."""
    value = ace(HAND_LOGITS, HAND_TARGETS, mode=mode, n_bins=2,
                variant='nixon')
    assert value[0] == pytest.approx(expected)


def test_ace_more_bins_than_pairs():
    """2 pairs, 10 bins: empty Nixon ranges are skipped; 'adaptive' puts
    the two pairs in the first and last bin. Both give .275."""
    for variant in ('adaptive', 'nixon'):
        value = ace(HAND_LOGITS, HAND_TARGETS, mode='positive',
                    variant=variant)
        # .5 * |1 - .5| + .5 * |1 - .95|
        assert value[0] == pytest.approx(0.275)
    with pytest.raises(ValueError):
        ace(HAND_LOGITS, HAND_TARGETS, variant='mukhoti')


def test_ace_adaptive_ties_fewer_bins():
    """Tied confidences leave 2 effective bins (of 4) and a finite ACE."""
    # 'binary': six conf .75 (z = ln 3), two conf .95 (z = ln 19)
    logits = col(*([LN3] * 6 + [LN19] * 2))
    targets = col(1, 1, 1, 0, 0, 0, 1, 1)  # .75s: 3 right, 3 wrong
    conf = 1 / (1 + np.exp(-logits[:, 0]))
    assert len(quantile_edges(conf, 4)) == 3  # edges .75, .8, .95
    weights, _ = binned_gaps(conf, np.ones(8), n_bins=4, binning='mass')
    assert len(weights) == 2
    # bin {.75 x 6}: acc .5, gap .25, w 6/8; bin {.95 x 2}: gap .05, w 2/8
    # ACE = .1875 + .0125 = .2
    value = ace(logits, targets, n_bins=4)
    assert value[0] == pytest.approx(0.2)
    # all confidences equal: one bin, |acc - conf| = |3/8 - .75|
    value = ace(col(*[LN3] * 8), col(1, 1, 1, 0, 0, 0, 0, 0), n_bins=10)
    assert value[0] == pytest.approx(0.75 - 3 / 8)


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('n_bins', [3, 10])
def test_ace_matches_loops(mode, n_bins):
    """Random data: both variants agree with the sorted loops."""
    logits, targets = counted_data(11)
    adaptive = ace(logits, targets, mode=mode, n_bins=n_bins)
    nixon = ace(logits, targets, mode=mode, n_bins=n_bins, variant='nixon')
    for c in range(logits.shape[1]):
        conf, correct, _ = loop_triples(logits[:, c], targets[:, c], mode)
        assert adaptive[c] == pytest.approx(
            loop_ace_adaptive(conf, correct, n_bins), abs=1e-12)
        assert nixon[c] == pytest.approx(
            loop_ace_nixon(conf, correct, n_bins), abs=1e-12)


@pytest.mark.parametrize('mode', MODES)
def test_ece_mce_match_loops(mode):
    """Random data without 1.0: ECE / MCEs agree with the plain loop."""
    logits, targets = random_data(12)
    assert_off_edges(logits)
    e = ece(logits, targets, mode=mode)
    wm = mce(logits, targets, mode=mode)
    tm = mce(logits, targets, mode=mode, weighted=False)
    for c in range(logits.shape[1]):
        conf, correct, _ = loop_triples(logits[:, c], targets[:, c], mode)
        ref = loop_ece_mce(conf, correct)
        assert (e[c], wm[c], tm[c]) == pytest.approx(ref, abs=1e-12)


# -------------------------------------------------------------- PIECE


def test_piece_by_hand():
    """4 images, 2 proximity bins: PIECE sees what ECE averages away."""
    # p = .75 for all; labels 1 0 1 1; proximity .1 .2 .8 .9
    logits = col(LN3, LN3, LN3, LN3)
    targets = col(1, 0, 1, 1)
    prox = np.array([0.1, 0.2, 0.8, 0.9])
    # proximity edges .1, .5, .9: {.1 .2} -> 0, {.8 .9} -> 1; all conf in
    # bin 7. 'prob' and 'binary' (decision 1, so correct = label) agree:
    # ECE: one bin, acc 3/4, conf .75 -> 0
    # PIECE: cell 0 acc .5 gap .25 w .5; cell 1 acc 1 gap .25 w .5 -> .25
    for mode in ('prob', 'binary'):
        assert ece(logits, targets, mode=mode)[0] == pytest.approx(0.0)
        value = piece(logits, targets, prox, mode=mode, n_prox_bins=2)
        assert value[0] == pytest.approx(0.25)
        # one proximity bin: PIECE = ECE
        value = piece(logits, targets, prox, mode=mode, n_prox_bins=1)
        assert value[0] == pytest.approx(0.0)
    # 'positive': images 0 2 3 (prox .1 .8 .9), all correct, conf .75.
    # proximity edges .1 .8 .9: .1 -> 0, .8 (on the edge) and .9 -> 1;
    # every cell has gap .25 -> PIECE .25 (= ECE)
    value = piece(logits, targets, prox, mode='positive', n_prox_bins=2)
    assert value[0] == pytest.approx(0.25)


def test_piece_conf_one_in_last_bin():
    """ProCal convention: conf 1.0 is averaged in the last bin."""
    # 'prob': p 1.0 (y 0), .95 (y 1), same proximity -> one cell in bin 9:
    # acc .5, conf .975 -> .475 (the DAC ECE drops 1.0 and gives .05)
    logits, targets = col(40.0, LN19), col(0, 1)
    value = piece(logits, targets, np.array([0.5, 0.5]), mode='prob')
    assert value[0] == pytest.approx(0.475)
    assert ece(logits, targets, mode='prob')[0] == pytest.approx(0.05)


def test_piece_confidence_edge_left_closed():
    """conf .5 (z = 0) on an interior edge goes to the upper bin."""
    # 'prob', p .5 (y 1) and .45 (y 0): bins 5 and 4, gaps .5 and .45,
    # w .5 each -> .475; in one bin it would be |.5 - .475| = .025
    z45 = math.log(0.45 / 0.55)
    value = piece(col(0.0, z45), col(1, 0), np.ones(2), mode='prob')
    assert value[0] == pytest.approx(0.475)
    # the DAC ECE bins are left-closed on the same edges: also .475
    assert ece(col(0.0, z45), col(1, 0), mode='prob')[0] == \
        pytest.approx(0.475)


@pytest.mark.parametrize('mode', MODES)
def test_piece_matches_loop(mode):
    """Random data: the dict-of-cells loop agrees (3 x 4 grid, 10 x 10)."""
    logits, targets = counted_data(13)
    rng = np.random.default_rng(14)
    prox = np.exp(-rng.uniform(0.5, 2.0, size=103))
    prox[:20] = prox[20]  # ties among proximities
    for n_conf, n_prox in ((4, 3), (10, 10)):
        value = piece(logits, targets, prox, mode=mode, n_conf_bins=n_conf,
                      n_prox_bins=n_prox)
        for c in range(logits.shape[1]):
            conf, correct, rows = loop_triples(logits[:, c], targets[:, c],
                                               mode)
            ref = loop_piece(conf, correct, [prox[r] for r in rows], n_conf,
                             n_prox)
            assert value[c] == pytest.approx(ref, abs=1e-12)


def test_piece_rejects_bad_proximity():
    """One proximity per image."""
    with pytest.raises(ValueError):
        piece(HAND_LOGITS, HAND_TARGETS, np.ones(4))
    with pytest.raises(ValueError):
        piece(HAND_LOGITS, HAND_TARGETS, np.ones(5), n_prox_bins=0)


# ---------------------------------------------------------- invariants


@pytest.mark.parametrize('mode', MODES)
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_invariants_on_random_data(mode, seed):
    """weighted MCE <= ECE <= textbook MCE; ECE <= PIECE; PIECE with one
    proximity bin = ECE; ACE 'adaptive' = equal-mass ECE."""
    logits, targets = random_data(seed)
    assert_off_edges(logits)
    rng = np.random.default_rng(seed + 100)
    prox = rng.random(len(logits))
    e = ece(logits, targets, mode=mode)
    assert np.all(np.isfinite(e))
    assert np.all(mce(logits, targets, mode=mode) <= e + 1e-12)
    assert np.all(e <= mce(logits, targets, mode=mode, weighted=False)
                  + 1e-12)
    assert np.all(e <= piece(logits, targets, prox, mode=mode) + 1e-12)
    assert np.allclose(piece(logits, targets, prox, mode=mode,
                             n_prox_bins=1), e, atol=1e-12)
    assert np.allclose(ace(logits, targets, mode=mode),
                       ece(logits, targets, mode=mode, binning='mass'),
                       atol=1e-12)


@pytest.mark.parametrize('mode', MODES)
def test_saturated_logits_finite(mode):
    """Logits of +-40 (conf exactly 1.0 or 0.0): finite, in [0, 1]."""
    rng = np.random.default_rng(15)
    logits = np.where(rng.random((60, 4)) < 0.5, 40.0, -40.0)
    logits[:10] = rng.normal(size=(10, 4))  # a few unsaturated
    targets = (rng.random((60, 4)) < 0.5).astype(np.float64)
    prox = rng.random(60)
    values = [
        ece(logits, targets, mode=mode),
        ece(logits, targets, mode=mode, binning='mass'),
        mce(logits, targets, mode=mode),
        mce(logits, targets, mode=mode, weighted=False),
        ace(logits, targets, mode=mode),
        ace(logits, targets, mode=mode, variant='nixon'),
        piece(logits, targets, prox, mode=mode),
    ]
    for value in values:
        assert np.all(np.isfinite(value))
        assert np.all((value >= 0) & (value <= 1))
    # fully saturated: equal-mass bins collapse to (at most) two values
    value = ace(np.full((8, 1), 40.0), col(1, 1, 1, 0, 0, 0, 0, 0),
                mode=mode)
    assert np.isfinite(value[0]) and 0 <= value[0] <= 1


@pytest.mark.parametrize('mode', MODES)
def test_unknown_targets_ignored(mode):
    """Changing the logits of -1 pairs (and the proximity of images with
    no known target) changes nothing; a class without pairs is NaN."""
    logits, targets = random_data(16, n=80, c=4)
    targets[:6] = -1  # images without any known target
    targets[:, 3] = -1  # a class without any known target
    rng = np.random.default_rng(17)
    prox = rng.random(80)
    moved = logits.copy()
    moved[targets == -1] = rng.normal(0, 20, size=(targets == -1).sum())
    moved_prox = prox.copy()
    moved_prox[:6] = rng.random(6)
    functions = [
        lambda z, p: ece(z, targets, mode=mode),
        lambda z, p: ece(z, targets, mode=mode, binning='mass'),
        lambda z, p: mce(z, targets, mode=mode),
        lambda z, p: mce(z, targets, mode=mode, weighted=False),
        lambda z, p: ace(z, targets, mode=mode),
        lambda z, p: ace(z, targets, mode=mode, variant='nixon'),
        lambda z, p: piece(z, targets, p, mode=mode),
    ]
    for fn in functions:
        before, after = fn(logits, prox), fn(moved, moved_prox)
        assert np.array_equal(before, after, equal_nan=True)
        assert np.isnan(before[3]) and np.all(np.isfinite(before[:3]))


def test_torch_inputs():
    """Tensors (float32 logits) give the float64 numpy results."""
    logits, targets = random_data(18, n=50)
    prox = np.random.default_rng(19).random(50)
    z32 = torch.from_numpy(logits.astype(np.float32))
    z64 = logits.astype(np.float32).astype(np.float64)
    t = torch.from_numpy(targets)
    assert np.array_equal(ace(z32, t, variant='nixon'),
                          ace(z64, targets, variant='nixon'))
    assert np.array_equal(mce(z32, t), mce(z64, targets))
    assert np.array_equal(piece(z32, t, torch.from_numpy(prox)),
                          piece(z64, targets, prox))


# -------------------------------------------------------- torchmetrics


@pytest.mark.parametrize('mode', MODES)
def test_ece_and_textbook_mce_agree_with_torchmetrics(mode):
    """Per class, torchmetrics' binary calibration error on our (conf,
    correct) pairs: 'l1' is the ECE, 'max' the textbook MCE (data
    without 1.0 and away from the right-closed/left-closed edges)."""
    rng = np.random.default_rng(20)
    logits = rng.uniform(-4, 4, size=(400, 3))
    targets = (rng.random((400, 3)) < 0.5).astype(np.float64)
    assert_off_edges(logits)
    e = ece(logits, targets, mode=mode)
    m = mce(logits, targets, mode=mode, weighted=False)
    for c in range(3):
        conf, correct, _ = loop_triples(logits[:, c], targets[:, c], mode)
        kw = dict(preds=torch.tensor(conf, dtype=torch.float64),
                  target=torch.tensor(correct).long(), n_bins=10)
        assert e[c] == pytest.approx(
            binary_calibration_error(norm='l1', **kw).item(), abs=1e-9)
        assert m[c] == pytest.approx(
            binary_calibration_error(norm='max', **kw).item(), abs=1e-9)


# ------------------------------------------------------------ proximity


def brute_proximity(feats, ref, k, exclude_self=False):
    """exp(-mean of the k smallest L2 distances), by sorting lists."""
    out = []
    for i, f in enumerate(feats):
        dists = sorted(math.dist(f, r) for j, r in enumerate(ref)
                       if not (exclude_self and j == i))
        out.append(math.exp(-sum(dists[:k]) / k))
    return np.array(out)


def test_proximity_by_hand():
    """Plain (not squared) Euclidean distances, no normalisation."""
    # 1-D: 0 -> refs 1 2 4 10: nearest 1, 2 -> exp(-1.5);
    #      3 -> distances 2 1 1 7: nearest 1, 1 -> exp(-1)
    value = proximity(col(0.0, 3.0), col(1.0, 2.0, 4.0, 10.0), k=2)
    assert np.allclose(value, [math.exp(-1.5), math.exp(-1.0)])
    # 2-D: distances 5 and 10 (squared: 25 and 100; after unit
    # normalisation: 0) -> exp(-7.5)
    value = proximity(np.zeros((1, 2)), np.array([[3.0, 4.0], [6.0, 8.0]]),
                      k=2)
    assert value[0] == pytest.approx(math.exp(-7.5))
    assert proximity(np.zeros((1, 2)), np.array([[3.0, 4.0], [6.0, 8.0]]),
                     k=1)[0] == pytest.approx(math.exp(-5.0))


def test_proximity_exclude_self_by_hand():
    """Self dropped by index; a duplicate at distance 0 still counts."""
    # 0 -> other 1 (d 1), 3 (d 3); 1 -> 0 (d 1); 3 -> 1 (d 2)
    value = proximity(col(0.0, 1.0, 3.0), col(0.0, 1.0, 3.0), k=1,
                      exclude_self=True)
    assert np.allclose(value, np.exp([-1.0, -1.0, -2.0]))
    # without exclusion the point finds itself: exp(0) = 1
    assert np.allclose(proximity(col(0.0, 1.0, 3.0), col(0.0, 1.0, 3.0),
                                 k=1), 1.0)
    # duplicates: 0 and 0 are each other's neighbour (d 0)
    value = proximity(col(0.0, 0.0, 5.0), col(0.0, 0.0, 5.0), k=1,
                      exclude_self=True)
    assert np.allclose(value, [1.0, 1.0, math.exp(-5.0)])


def test_proximity_rejects_bad_k_and_shapes():
    """k must not exceed the references (minus self when excluded)."""
    feats = np.zeros((3, 2))
    proximity(feats, np.ones((4, 2)), k=4)  # fine
    with pytest.raises(ValueError):
        proximity(feats, np.ones((4, 2)), k=5)
    proximity(feats, feats, k=2, exclude_self=True)  # fine
    with pytest.raises(ValueError):
        proximity(feats, feats, k=3, exclude_self=True)
    with pytest.raises(ValueError):
        proximity(feats, np.ones((4, 2)), k=1, exclude_self=True)
    with pytest.raises(ValueError):
        proximity(feats, np.ones((4, 3)), k=1)
    with pytest.raises(ValueError):
        proximity(feats, np.ones((4, 2)), k=0)


@pytest.mark.parametrize('block', [None, 30])
def test_proximity_matches_brute_force(block, monkeypatch):
    """Random features: sorted-list kNN agrees, also in small blocks."""
    if block is not None:  # a few query rows per block
        monkeypatch.setattr(knn_module, '_BLOCK_ELEMENTS', block)
    rng = np.random.default_rng(21)
    feats = rng.normal(size=(40, 6))
    ref = rng.normal(size=(25, 6))
    value = proximity(feats, ref, k=5)
    assert np.allclose(value, brute_proximity(feats, ref, 5), rtol=1e-12)
    value = proximity(torch.from_numpy(feats), torch.from_numpy(feats), k=3,
                      exclude_self=True)
    assert np.allclose(value, brute_proximity(feats, feats, 3, True),
                       rtol=1e-12)
    assert value.shape == (40, )
