"""Tests of Class-wise Covariance Regularization (``mmccr.calibrators``)."""
import math

import pytest
import torch

from mmccr.calibrators import CCR, ccr_loss, predicted_correlation
from mmccr.models import LearnerOutput
from mmccr.registry import CALIBRATORS, MODELS

EPS = 1e-6


class ZeroShotStub:
    """Stands in for ``PromptClassifier`` in ``CCR.set_classes``.

    It has the current ``classnames`` and returns the given features as
    their zero-shot text features.
    """

    def __init__(self, classnames, feats):
        self.classnames = list(classnames)
        self.feats = feats

    def zero_shot_features(self, names=None, cache=True):
        assert names is None or list(names) == self.classnames
        return self.feats


def loop_correlation(probs, labels, pairs='joint_negative', eps=EPS,
                     normalise='pairwise'):
    """Plain-Python C~_ij over S_ij with population statistics.

    S_ij holds the samples where both labels are 0 (``'joint_negative'``)
    or every sample (``'all'``); eps sits inside both square roots and an
    empty S_ij gives 0. ``normalise='pairwise'`` divides by the variances
    over S_ij, ``'diagonal'`` (Eq. 9 literally) by the variance of each
    class over its own S_ii.
    """
    p = probs.tolist()
    y = labels.tolist()
    num = len(p[0])
    out = [[0.0] * num for _ in range(num)]
    for i in range(num):
        for j in range(num):
            s = [b for b in range(len(p))
                 if pairs == 'all' or (y[b][i] == 0 and y[b][j] == 0)]
            if not s:
                continue
            n = len(s)
            mi = sum(p[b][i] for b in s) / n
            mj = sum(p[b][j] for b in s) / n
            cov = sum((p[b][i] - mi) * (p[b][j] - mj) for b in s) / n
            if normalise == 'diagonal':
                vi, vj = own_variance(p, y, i, pairs), own_variance(p, y, j,
                                                                     pairs)
            else:
                vi = sum((p[b][i] - mi) ** 2 for b in s) / n
                vj = sum((p[b][j] - mj) ** 2 for b in s) / n
            out[i][j] = cov / (math.sqrt(vi + eps) * math.sqrt(vj + eps))
    return torch.tensor(out, dtype=torch.float64)


def own_variance(p, y, i, pairs):
    """Variance of class i over S_ii (its negatives, or every sample)."""
    s = [b for b in range(len(p)) if pairs == 'all' or y[b][i] == 0]
    if not s:
        return 0.0
    mean = sum(p[b][i] for b in s) / len(s)
    return sum((p[b][i] - mean) ** 2 for b in s) / len(s)


def loop_loss(probs, labels, target, pairs, reduction):
    """||C~ - target||_F^2 summed or averaged with plain loops."""
    corr = loop_correlation(probs, labels, pairs).tolist()
    t = target.tolist()
    num = len(corr)
    total = sum((corr[i][j] - t[i][j]) ** 2
                for i in range(num) for j in range(num))
    return total if reduction == 'sum' else total / num ** 2


def random_batch(seed, batch=7, num=4):
    """Confidences in (0.05, 0.95) and labels in {1, 0, -1} (mostly 0)."""
    gen = torch.Generator().manual_seed(seed)
    probs = 0.05 + 0.9 * torch.rand(batch, num, generator=gen,
                                    dtype=torch.float64)
    draw = torch.rand(batch, num, generator=gen)
    labels = torch.zeros(batch, num, dtype=torch.long)
    labels[draw < 0.25] = 1
    labels[draw > 0.85] = -1
    return probs, labels


def random_text_sim(seed, num=4, dim=8):
    """Cosine similarities of random unit vectors."""
    gen = torch.Generator().manual_seed(seed)
    feats = torch.randn(num, dim, generator=gen, dtype=torch.float64)
    feats = feats / feats.norm(dim=1, keepdim=True)
    return feats @ feats.t(), feats


# ------------------------------------------------ predicted_correlation


@pytest.mark.parametrize('pairs', ['joint_negative', 'all'])
@pytest.mark.parametrize('seed', [0, 1, 2])
def test_correlation_matches_loop(pairs, seed):
    """The vectorised matrix equals the triple loop on random batches."""
    probs, labels = random_batch(seed)
    corr = predicted_correlation(probs, labels, pairs=pairs, eps=EPS)
    assert corr.shape == (4, 4)
    expected = loop_correlation(probs, labels, pairs)
    assert torch.allclose(corr.double(), expected, atol=1e-5)


def test_correlation_hand_value_joint_negative():
    """S_01 drops the sample where class 0 is positive."""
    probs = torch.tensor([[0.2, 0.9], [0.4, 0.1], [0.6, 0.3], [0.8, 0.5]])
    labels = torch.tensor([[0, 0], [0, 0], [0, 0], [1, 0]])
    corr = predicted_correlation(probs, labels, eps=0.0)
    # S_01 = S_00 = {0, 1, 2}: p0 = .2 .4 .6 (mean .4, var .08/3),
    # p1 = .9 .1 .3 (mean 1.3/3, var .91/3 - (1.3/3)^2 = 1.04/9),
    # cov = (-.2 (.9 - m) + 0 + .2 (.3 - m)) / 3 = .2 (.3 - .9) / 3 = -.04
    expected = -0.04 / math.sqrt(0.08 / 3 * 1.04 / 9)
    assert corr[0, 1].item() == pytest.approx(expected, rel=1e-4)
    assert corr[1, 0].item() == pytest.approx(expected, rel=1e-4)
    # with all four samples (pairs='all') the pair is different:
    # p0 mean .5, var .05; p1 mean .45, deviations .45 -.35 -.15 .05,
    # var .35/4 = .0875; cov = (-.135 + .035 - .015 + .015) / 4 = -.025
    full = predicted_correlation(probs, labels, pairs='all', eps=0.0)
    expected = -0.025 / math.sqrt(0.05 * 0.0875)
    assert full[0, 1].item() == pytest.approx(expected, rel=1e-4)


def test_correlation_perfectly_correlated_columns():
    """p1 = p0 gives var / (var + eps); p1 = 1 - p0 gives its negative."""
    p0 = torch.tensor([0.2, 0.4, 0.6, 0.8])
    labels = torch.zeros(4, 2)
    # mean .5, deviations -.3 -.1 .1 .3: var = (.09+.01+.01+.09)/4 = .05
    same = predicted_correlation(torch.stack([p0, p0], 1), labels, eps=0.01)
    # .05 / (.05 + .01) = 5/6 in every entry
    assert torch.allclose(same, torch.full((2, 2), 5 / 6))
    anti = predicted_correlation(torch.stack([p0, 1 - p0], 1), labels,
                                 pairs='all', eps=1e-6)
    ratio = 1 / (1 + 1e-6 / 0.05)
    assert anti[0, 1].item() == pytest.approx(-ratio, rel=1e-5)
    assert anti[1, 1].item() == pytest.approx(ratio, rel=1e-5)


def test_correlation_empty_pair_and_constant_class_give_zero():
    """No jointly negative sample, or zero variance, gives entry 0."""
    probs = torch.tensor([[0.2, 0.7, 0.5], [0.6, 0.1, 0.5],
                          [0.3, 0.8, 0.5], [0.9, 0.4, 0.5]])
    labels = torch.tensor([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]])
    corr = predicted_correlation(probs, labels)
    # classes 0 and 1 are never negative together: S_01 is empty
    assert corr[0, 1].item() == 0.0 and corr[1, 0].item() == 0.0
    # class 2 is constant: cov 0 and var 0 -> 0 / (sqrt(eps) sqrt(..))
    assert torch.all(corr[2] == 0) and torch.all(corr[:, 2] == 0)
    assert torch.isfinite(corr).all()


def test_correlation_rejects_unknown_pairs():
    """An unknown ``pairs`` option raises."""
    with pytest.raises(ValueError):
        predicted_correlation(torch.rand(3, 2), torch.zeros(3, 2),
                              pairs='positive')


# ------------------------------------------------------------ ccr_loss


@pytest.mark.parametrize('reduction', ['sum', 'mean'])
@pytest.mark.parametrize('pairs', ['joint_negative', 'all'])
def test_ccr_loss_matches_loop(pairs, reduction):
    """Squared Frobenius distance, summed or divided by C^2."""
    probs, labels = random_batch(3)
    text_sim, _ = random_text_sim(4)
    loss = ccr_loss(probs, labels, text_sim, pairs=pairs,
                    reduction=reduction)
    expected = loop_loss(probs, labels, text_sim, pairs, reduction)
    assert loss.item() == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_ccr_loss_mean_is_sum_over_c_squared():
    """'mean' is 'sum' divided by the C x C = 16 entries."""
    probs, labels = random_batch(5)
    text_sim, _ = random_text_sim(6)
    total = ccr_loss(probs, labels, text_sim, reduction='sum')
    mean = ccr_loss(probs, labels, text_sim, reduction='mean')
    assert mean.item() == pytest.approx(total.item() / 16, rel=1e-6)


@pytest.mark.parametrize('pairs', ['joint_negative', 'all'])
def test_ccr_loss_zero_at_target(pairs):
    """A target equal to the loop's correlation gives a zero loss."""
    probs, labels = random_batch(7)
    target = loop_correlation(probs, labels, pairs)
    loss = ccr_loss(probs, labels, target, pairs=pairs)
    assert loss.item() < 1e-9


def test_ccr_loss_hand_value_correlated_columns():
    """Identical columns against unit cosines: 4 (1 - 5/6)^2 = 1/9."""
    p0 = torch.tensor([0.2, 0.4, 0.6, 0.8])
    probs = torch.stack([p0, p0], 1)
    labels = torch.zeros(4, 2)
    # every entry is .05 / (.05 + .01) = 5/6 (see the correlation test)
    loss = ccr_loss(probs, labels, torch.ones(2, 2), eps=0.01)
    assert loss.item() == pytest.approx(1 / 9, rel=1e-5)
    target = torch.full((2, 2), 5 / 6)
    assert ccr_loss(probs, labels, target, eps=0.01).item() < 1e-12


def test_ccr_loss_rejects_unknown_reduction():
    """An unknown reduction raises."""
    with pytest.raises(ValueError):
        ccr_loss(torch.rand(3, 2), torch.zeros(3, 2), torch.eye(2),
                 reduction='max')


@pytest.mark.parametrize('pairs', ['joint_negative', 'all'])
def test_ccr_gradients_finite_for_constant_class(pairs):
    """A constant class (var = 0) gives finite loss and gradients."""
    logits = torch.tensor([[0.3, 1.0, -2.0], [-1.2, 1.0, 0.4],
                           [0.8, 1.0, 1.5], [2.0, 1.0, -0.3]],
                          requires_grad=True)
    labels = torch.zeros(4, 3)
    text_sim, _ = random_text_sim(8, num=3)
    loss = ccr_loss(torch.sigmoid(logits), labels, text_sim, pairs=pairs)
    assert torch.isfinite(loss)
    expected = loop_loss(torch.sigmoid(logits.detach()), labels, text_sim,
                         pairs, 'sum')
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


def test_ccr_gradients_finite_without_joint_negatives():
    """Empty S_ij and a class with no negative keep gradients finite."""
    logits = torch.tensor([[0.3, -1.0, 2.0], [-1.2, 0.5, 1.0],
                           [0.8, 1.1, 0.2], [2.0, -0.7, -0.5]],
                          requires_grad=True)
    # class 2 is always positive: S_2j is empty for every j; classes 0 and
    # 1 are never negative together: S_01 is empty
    labels = torch.tensor([[1, 0, 1], [0, 1, 1], [1, 0, 1], [0, 1, 1]])
    text_sim, _ = random_text_sim(9, num=3)
    loss = ccr_loss(torch.sigmoid(logits), labels, text_sim)
    expected = loop_loss(torch.sigmoid(logits.detach()), labels, text_sim,
                         'joint_negative', 'sum')
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_ccr_gradient_reaches_logits_not_text_sim():
    """Gradient flows into the logits; Sigma_text receives none."""
    probs, labels = random_batch(10)
    logits = torch.logit(probs).float().requires_grad_(True)
    text_sim, _ = random_text_sim(11)
    text_sim = text_sim.float().requires_grad_(True)
    loss = ccr_loss(torch.sigmoid(logits), labels, text_sim)
    loss.backward()
    assert text_sim.grad is None
    assert torch.isfinite(logits.grad).all()
    # only negative entries enter any S_ij: positives and unknowns get
    # exactly zero gradient, negatives a non-zero one
    negative = labels == 0
    assert torch.all(logits.grad[~negative] == 0)
    assert logits.grad[negative].abs().sum() > 0


# ------------------------------------------------------------ CCR class


def test_ccr_set_classes_builds_text_similarity():
    """Sigma_text[i, j] = cos(t_i, t_j) of the zero-shot features."""
    _, feats = random_text_sim(12, num=3)
    feats = feats.float().requires_grad_(True)
    ccr = CCR()
    ccr.set_classes(ZeroShotStub(['cat', 'dog', 'car'], feats))
    assert ccr.text_sim.shape == (3, 3)
    assert not ccr.text_sim.requires_grad
    for i in range(3):
        for j in range(3):
            cos = torch.nn.functional.cosine_similarity(
                feats[i], feats[j], dim=0)
            assert ccr.text_sim[i, j].item() == pytest.approx(
                cos.item(), abs=1e-6)


@pytest.mark.parametrize('reduction', ['sum', 'mean'])
@pytest.mark.parametrize('pairs', ['joint_negative', 'all'])
def test_ccr_calibrator_loss(pairs, reduction):
    """loss_ccr = weight * CCR loss; ccr_gap = mean off-diagonal |gap|."""
    probs, labels = random_batch(13)
    logits = torch.logit(probs).float().requires_grad_(True)
    _, feats = random_text_sim(14)
    ccr = CCR(loss_weight=0.5, pairs=pairs, reduction=reduction)
    model = ZeroShotStub(['a', 'b', 'c', 'd'], feats.float())
    ccr.set_classes(model)
    out = ccr.loss(LearnerOutput(logits, None), labels, model)
    text_sim = feats @ feats.t()
    expected = 0.5 * loop_loss(probs, labels, text_sim, pairs, reduction)
    assert out['loss_ccr'].item() == pytest.approx(expected, rel=1e-5)
    functional = ccr_loss(torch.sigmoid(logits), labels, ccr.text_sim,
                          pairs=pairs, reduction=reduction)
    assert out['loss_ccr'].item() == pytest.approx(
        0.5 * functional.item(), rel=1e-6)
    diff = (loop_correlation(probs, labels, pairs) - text_sim).abs()
    off = [diff[i, j].item() for i in range(4) for j in range(4) if i != j]
    gap = out['ccr_gap']
    assert gap.item() >= 0 and not gap.requires_grad
    assert gap.item() == pytest.approx(sum(off) / len(off), abs=1e-5)
    out['loss_ccr'].backward()
    assert torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


def test_ccr_calibrator_single_class_gap_is_zero():
    """With one class there is no off-diagonal entry: gap 0."""
    ccr = CCR()
    model = ZeroShotStub(['a'], torch.ones(1, 4) / 2)
    ccr.set_classes(model)
    out = ccr.loss(LearnerOutput(torch.randn(5, 1), None), torch.zeros(5, 1),
                   model)
    assert out['ccr_gap'].item() == 0.0
    assert torch.isfinite(out['loss_ccr'])


def test_ccr_calibrator_options():
    """Registry build, default identity calibrate and bad options."""
    ccr = CALIBRATORS.build(dict(type='CCR', loss_weight=2.0))
    assert isinstance(ccr, CCR) and ccr.loss_weight == 2.0
    logits = torch.randn(2, 3)
    assert torch.equal(ccr.calibrate(logits), logits)
    with pytest.raises(ValueError):
        CCR(pairs='positive')
    with pytest.raises(ValueError):
        CCR(reduction='max')


# ------------------------------------------- through the real classifier


def test_ccr_gradient_reaches_only_the_prompt(make_tiny_classifier_cfg):
    """loss_ccr of the tiny PromptClassifier trains the CoOp context only.

    Sigma_text comes from open_clip's own 'a photo of a {}.' features, so
    the value is also checked against the functional loss on the model's
    logits.
    """
    names = ['cat', 'dog', 'traffic light', 'boat']
    torch.manual_seed(0)
    # logit scale 10 keeps sigmoid(logits) away from saturation
    model = MODELS.build(make_tiny_classifier_cfg(
        names,
        learner=dict(type='CoOp', n_ctx=4, logit_scale=10.),
        calibrators=[dict(type='CCR', loss_weight=1.0)]))
    model.train()
    gen = torch.Generator().manual_seed(3)
    images = torch.randn(6, 3, 32, 32, generator=gen)
    labels = torch.tensor([[0, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 0],
                           [0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 0, 0]])
    losses = model(images, dict(gt_label=labels), mode='loss')

    backbone = model.backbone
    text = backbone.clip.encode_text(
        backbone.tokenizer([f'a photo of a {n}.' for n in names]))
    text = torch.nn.functional.normalize(text, dim=-1)
    with torch.no_grad():
        logits = model(images, mode='tensor')
    expected = ccr_loss(torch.sigmoid(logits), labels, text @ text.t())
    assert losses['loss_ccr'].item() == pytest.approx(
        expected.item(), rel=1e-4)

    losses['loss_ccr'].backward()
    grad = model.learner.ctx.grad
    assert grad is not None
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert all(p.grad is None for p in backbone.parameters())
    assert [n for n, p in model.named_parameters()
            if p.requires_grad] == ['learner.ctx']


# ------------------------------------------- normalise and float64 options


@pytest.mark.parametrize('pairs', ['joint_negative', 'all'])
@pytest.mark.parametrize('seed', [3, 4])
def test_diagonal_normalisation_matches_loop_of_eq9(pairs, seed):
    """'diagonal': cov over S_ij divided by sqrt(C_ii + eps) sqrt(C_jj +
    eps), C_ii the variance over S_ii, as a plain loop computes it."""
    probs, labels = random_batch(seed, batch=9, num=5)
    corr = predicted_correlation(probs, labels, pairs=pairs, eps=EPS,
                                 normalise='diagonal')
    expected = loop_correlation(probs, labels, pairs, normalise='diagonal')
    assert torch.allclose(corr, expected, atol=1e-10)


def test_diagonal_equals_pairwise_when_every_sample_counts():
    """With pairs='all' every S_ij is the whole batch: the two agree."""
    probs, labels = random_batch(5)
    pairwise = predicted_correlation(probs, labels, 'all')
    diagonal = predicted_correlation(probs, labels, 'all',
                                     normalise='diagonal')
    assert torch.allclose(pairwise, diagonal, atol=1e-12)
    # ... but not on joint negatives, where S_ij is smaller than S_ii
    assert not torch.allclose(
        predicted_correlation(probs, labels),
        predicted_correlation(probs, labels, normalise='diagonal'))


def test_float64_option_keeps_saturated_confidences_apart():
    """Logits of 15-20 round to a few float32 values of sigma; float64
    keeps them apart, and the loss follows the float64 loop."""
    gen = torch.Generator().manual_seed(7)
    logits = (15 + 5 * torch.rand(8, 3, generator=gen,
                                 dtype=torch.float64))
    labels = torch.zeros(8, 3, dtype=torch.long)
    _, feats = random_text_sim(8, num=3)
    model = ZeroShotStub(['a', 'b', 'c'], feats.float())
    losses = {}
    for float64 in (False, True):
        ccr = CCR(loss_weight=1.0, eps=1e-14, float64=float64)
        ccr.set_classes(model)
        losses[float64] = ccr.loss(LearnerOutput(logits.float(), None),
                                   labels, model)['loss_ccr']
    text_sim = (feats.float() @ feats.float().t()).double()
    exact = loop_loss_eps(torch.sigmoid(logits.float().double()), labels,
                          text_sim, 1e-14)
    assert losses[True].item() == pytest.approx(exact, rel=1e-5)
    # float32 sigma collapses them: a loss several per cent off
    assert abs(losses[False].item() - exact) > 0.03 * exact


def loop_loss_eps(probs, labels, target, eps):
    corr = loop_correlation(probs, labels, 'joint_negative', eps)
    return float(((corr - target) ** 2).sum())


def test_ccr_rejects_unknown_normalise():
    with pytest.raises(ValueError, match='diagonl'):
        CCR(normalise='diagonl')
    with pytest.raises(ValueError, match='diagonl'):
        predicted_correlation(torch.rand(3, 2), torch.zeros(3, 2),
                              normalise='diagonl')
