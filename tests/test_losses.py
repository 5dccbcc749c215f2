"""Tests of the base losses in ``mmccr.losses``."""
import math

import pytest
import torch

from mmccr.losses import AsymmetricLoss, BCELoss, RankingLoss
from mmccr.registry import LOSSES

LN2 = math.log(2)
LN3 = math.log(3)


def _leaf(values):
    """A float64 leaf tensor that records its gradient."""
    return torch.tensor(values, dtype=torch.float64, requires_grad=True)


# ----------------------------------------------------------------- BCE


def test_bce_hand_value_mean_and_sum():
    """sigma(0) = 1/2 and sigma(ln 3) = 3/4 give ln 2 and ln 4."""
    logits = torch.tensor([[0.0, LN3]])
    labels = torch.tensor([[1, 0]])
    # label 1, p = 1/2: -ln(1/2) = ln 2
    # label 0, p = 3/4: -ln(1 - 3/4) = ln 4 = 2 ln 2
    mean = BCELoss()(logits, labels)
    assert mean.item() == pytest.approx((LN2 + 2 * LN2) / 2, rel=1e-6)
    total = BCELoss(reduction='sum')(logits, labels)
    assert total.item() == pytest.approx(3 * LN2, rel=1e-6)


def test_bce_ignores_unknown_labels():
    """Label -1 adds nothing to the loss, its count or its gradient."""
    logits = _leaf([[0.0, LN3, 5.0], [LN3, 0.0, -7.0]])
    labels = torch.tensor([[1, 0, -1], [-1, 0, -1]])
    # known: (0,0) ln 2, (0,1) ln 4, (1,1) -ln(1 - 1/2) = ln 2 -> 4 ln 2
    loss = BCELoss()(logits, labels)
    assert loss.item() == pytest.approx(4 * LN2 / 3, rel=1e-6)  # 3 known
    total = BCELoss(reduction='sum')(logits, labels)
    assert total.item() == pytest.approx(4 * LN2, rel=1e-6)
    batch = BCELoss(reduction='batch_mean')(logits, labels)
    assert batch.item() == pytest.approx(4 * LN2 / 2, rel=1e-6)  # B = 2
    loss.backward()
    unknown = labels == -1
    assert torch.all(logits.grad[unknown] == 0)
    assert torch.all(logits.grad[~unknown] != 0)


def test_bce_all_unknown_is_zero_not_nan():
    """With no known label the mean reduction returns 0, not 0/0."""
    loss = BCELoss()(torch.randn(2, 3), -torch.ones(2, 3))
    assert loss.item() == 0.0


def test_bce_loss_weight_and_bad_reduction():
    """loss_weight scales the loss; an unknown reduction raises."""
    logits = torch.tensor([[0.0, LN3]])
    labels = torch.tensor([[1, 0]])
    loss = BCELoss(loss_weight=2.0)(logits, labels)
    assert loss.item() == pytest.approx(3 * LN2, rel=1e-6)  # 2 * 1.5 ln 2
    with pytest.raises(ValueError):
        BCELoss(reduction='max')(logits, labels)


def test_losses_are_registered():
    """The registry builds every loss from its type name."""
    for cls in (BCELoss, RankingLoss, AsymmetricLoss):
        assert isinstance(LOSSES.build(dict(type=cls.__name__)), cls)


# ------------------------------------------------------------- ranking


def test_ranking_hand_value():
    """Hinge over (positive, negative) pairs of a 1 x 3 example."""
    logits = torch.tensor([[2.0, 1.5, -1.0]])
    labels = torch.tensor([[1, 0, 1]])
    # pairs (pos 0, neg 1): max(0, 1 - 2 + 1.5) = 0.5
    #       (pos 2, neg 1): max(0, 1 + 1 + 1.5) = 3.5      -> 4.0
    assert RankingLoss()(logits, labels).item() == pytest.approx(4.0)
    # scale 2: z = [4, 3, -2]; max(0, 1-4+3) = 0, max(0, 1+2+3) = 6
    scaled = RankingLoss(scale=2.0)(logits, labels)
    assert scaled.item() == pytest.approx(6.0)
    # margin 0: max(0, -0.5) = 0, max(0, 2.5) = 2.5
    assert RankingLoss(margin=0.0)(logits, labels).item() == \
        pytest.approx(2.5)


def test_ranking_ignores_unknown_and_averages_over_images():
    """-1 is neither positive nor negative; the sum is divided by B."""
    logits = _leaf([[2.0, 1.5, -1.0, 10.0], [0.0, 0.0, 0.0, -10.0]])
    labels = torch.tensor([[1, 0, 1, -1], [0, 0, 0, -1]])
    # row 0 as in the hand example: 4.0 (class 3 with z = 10 would add
    # hinge 1 - 2 + 10 = 9 and 1 + 1 + 10 = 12 if it counted as negative);
    # row 1 has no positive: 0.  Mean over B = 2 images: 2.0
    loss = RankingLoss()(logits, labels)
    assert loss.item() == pytest.approx(2.0)
    loss.backward()
    assert torch.all(logits.grad[:, 3] == 0)
    assert torch.all(logits.grad[1] == 0)
    # d/dz of the row-0 hinges divided by B = 2:
    # z0: -1/2, z1: (+1 + 1)/2, z2: -1/2
    expected = torch.tensor([-0.5, 1.0, -0.5], dtype=torch.float64)
    assert torch.allclose(logits.grad[0, :3], expected)


def test_ranking_weight():
    """loss_weight multiplies the hinge sum."""
    logits = torch.tensor([[2.0, 1.5, -1.0]])
    labels = torch.tensor([[1, 0, 1]])
    loss = RankingLoss(loss_weight=0.5)(logits, labels)
    assert loss.item() == pytest.approx(2.0)


# ----------------------------------------------------------------- ASL


def test_asl_hand_value_with_gamma_and_clip():
    """Both ASL branches on p = 3/4 with gamma+ 1, gamma- 2, clip 0.05."""
    logits = torch.tensor([[LN3, LN3]])
    labels = torch.tensor([[1, 0]])
    # positive: -(1 - 0.75)^1 * ln 0.75 = 0.25 ln(4/3)
    # negative: p_m = 0.75 - 0.05 = 0.7; -(0.7)^2 * ln(1 - 0.7)
    #           = 0.49 ln(10/3)
    expected = 0.25 * math.log(4 / 3) + 0.49 * math.log(10 / 3)
    loss = AsymmetricLoss()(logits, labels)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # clip 0: p_m = p; negative 0.75^2 * ln 4 = 0.5625 ln 4
    no_clip = AsymmetricLoss(clip=0.0)(logits, labels)
    expected = 0.25 * math.log(4 / 3) + 0.5625 * math.log(4)
    assert no_clip.item() == pytest.approx(expected, rel=1e-5)


def test_asl_clip_zeroes_easy_negatives():
    """A negative with p below the clip has p_m = 0 and no loss."""
    logits = _leaf([[-math.log(99)]])  # p = 1/100 < 0.05
    loss = AsymmetricLoss()(logits, torch.tensor([[0]]))
    assert loss.item() == 0.0
    loss.backward()
    assert logits.grad.item() == 0.0


def test_asl_focusing_weight_has_no_gradient():
    """d/dz of -w log p with w = (1 - p) held fixed is -w (1 - p)."""
    logits = _leaf([[LN3]])  # p = 3/4
    AsymmetricLoss()(logits, torch.tensor([[1]])).backward()
    # -w * (1/p) * p (1 - p) = -0.25 * 0.25 = -0.0625 (differentiating w
    # too would add p (1 - p) ln p = 0.1875 ln 0.75 ~ -0.054)
    assert logits.grad.item() == pytest.approx(-0.0625, rel=1e-5)


def test_asl_log_clamp_keeps_loss_finite():
    """A hopeless positive costs -ln(eps) instead of infinity."""
    logits = _leaf([[-40.0]])
    loss = AsymmetricLoss()(logits, torch.tensor([[1]]))
    # (1 - p) ~ 1, log clamped at eps = 1e-6: 6 ln 10
    assert loss.item() == pytest.approx(6 * math.log(10), rel=1e-5)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_asl_ignores_unknown_labels():
    """-1 entries change neither the value nor the gradient."""
    logits = _leaf([[LN3, LN3, 3.0, -3.0]])
    labels = torch.tensor([[1, 0, -1, -1]])
    loss = AsymmetricLoss()(logits, labels)
    expected = 0.25 * math.log(4 / 3) + 0.49 * math.log(10 / 3)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert torch.all(logits.grad[0, 2:] == 0)
    mean = AsymmetricLoss(reduction='mean')(logits, labels)
    assert mean.item() == pytest.approx(expected / 2, rel=1e-5)  # 2 known
