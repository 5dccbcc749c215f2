"""Tests of DAC, DOR, temperature scaling and the text anchor.

Expectations are computed independently of the code under test: hand
values on 2-D unit vectors (distances from chord lengths 2 sin(Δ/2)), a
plain-Python re-implementation of the DAC factors, a golden-section search
for the NLL-optimal temperature, and open_clip's own text features. The
runner-level checks (fit hook, tools, demo configs) are in
``test_calibrator_tools.py``.
"""
import json
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from mmccr.calibrators import (
    DAC,
    DOR,
    TemperatureScaling,
    TextAnchor,
    dac_factors,
    fit_temperature,
    load_vocabulary,
    rank_outliers,
)
from mmccr.engine.hooks import ClassSetHook
from mmccr.losses import text_deviation
from mmccr.models import LearnerOutput
from mmccr.registry import CALIBRATORS, MODELS

#: 30 everyday nouns, a tiny DOR vocabulary.
NOUNS = ('apple table chair house river mountain pencil bottle window '
         'garden bridge candle forest guitar hammer island jacket kettle '
         'ladder mirror needle orange pillow rabbit saddle tunnel violin '
         'wallet yacht zipper').split()


def unit(degrees):
    """The 2-D unit vector at ``degrees`` (float64)."""
    rad = math.radians(degrees)
    return torch.tensor([math.cos(rad), math.sin(rad)], dtype=torch.float64)


def chord(degrees):
    """Euclidean distance of two unit vectors ``degrees`` apart."""
    return 2 * math.sin(math.radians(degrees) / 2)


class FeatureStub:
    """Stands in for ``PromptClassifier``: text features looked up by name.

    ``zero_shot`` and ``tuned`` map names to feature vectors; the tuned
    names asked for are recorded in ``tuned_calls``.
    """

    def __init__(self, zero_shot, tuned, classnames, base_classnames=None):
        self.zs = zero_shot
        self.tuned = tuned
        self.classnames = list(classnames)
        self.base_classnames = list(base_classnames or classnames)
        self.tuned_calls = []

    def zero_shot_features(self, names=None, cache=True):
        names = self.classnames if names is None else list(names)
        return torch.stack([self.zs[n] for n in names])

    def vocabulary_features(self, names, chunk_size=1024):
        return self.zero_shot_features(names)

    def tuned_features(self, names=None, features=None):
        names = self.classnames if names is None else list(names)
        self.tuned_calls.append(names)
        return torch.stack([self.tuned[n] for n in names])


def write_vocab(path, words):
    path.write_text('\n'.join(words) + '\n', encoding='utf-8')
    return str(path)


def build_classifier(cfg_factory, names, **kwargs):
    torch.manual_seed(0)
    return MODELS.build(cfg_factory(names, **kwargs))


def random_images(num, seed=3):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(num, 3, 32, 32, generator=gen)


def assert_only_prompt_gradient(model):
    grad = model.learner.ctx.grad
    assert grad is not None
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert all(p.grad is None for p in model.backbone.parameters())


# ---------------------------------------------------------------------- #
# DAC                                                                    #
# ---------------------------------------------------------------------- #
# Base classes b0, b1, b2 and the evaluated classes b0, n, m (angles in
# degrees). Tuning moves b1 from 60 to 90, n from 120 to 270 (away from the
# base classes) and m from 270 to 135 (towards them).
DAC_ZERO_SHOT = dict(b0=0, b1=60, b2=180, n=120, m=270)
DAC_TUNED = dict(b0=0, b1=90, b2=180, n=270, m=135)
# k = 2 nearest base classes (mean distance; z = zero-shot, t = tuned):
#   b0: z 0, 1 (b1, 60°)          -> .5;   t 0, √2 (b1, 90°)     -> √2/2
#   n:  z 1, 1 (b1, b2, 60°)      -> 1;    t √2, √2 (b0, b2)      -> √2
#   m:  z √2, √2 (b0, b2, 90°)    -> √2;   t 2 sin 22.5° (b1, b2) twice
# s = exp(mean z - mean t): b0 exp(.5 - .7071) = .8129 (1 under the
# guard: its tuned distance to itself is 0); n exp(1 - 1.4142) = .6608;
# m exp(1.4142 - .7654) = 1.9133.
S_B0 = math.exp(0.5 - math.sqrt(2) / 2)
S_N = math.exp(1 - math.sqrt(2))
S_M = math.exp(math.sqrt(2) - chord(45))


def dac_stub(classnames=('b0', 'n', 'm'), base=('b0', 'b1', 'b2')):
    zs = {k: unit(v) for k, v in DAC_ZERO_SHOT.items()}
    tuned = {k: unit(v) for k, v in DAC_TUNED.items()}
    return FeatureStub(zs, tuned, classnames, base)


def test_dac_hand_checked_factors():
    """Factors of the 3-class example above, with and without the guard."""
    assert S_N == pytest.approx(0.6608, abs=1e-4)
    assert S_M == pytest.approx(1.9133, abs=1e-4)
    dac = DAC(k=2)
    dac.set_classes(dac_stub())
    assert dac.factors.tolist() == pytest.approx([1.0, S_N, S_M], rel=1e-6)
    assert dac.factors[0].item() == 1.0  # exactly: the guard
    unguarded = DAC(k=2, base_guard=False)
    unguarded.set_classes(dac_stub())
    assert unguarded.factors.tolist() == pytest.approx([S_B0, S_N, S_M],
                                                       rel=1e-6)


def test_dac_factors_function_in_float64():
    """The functional form gives the same hand values to 1e-12."""
    names, base = ['b0', 'n', 'm'], ['b0', 'b1', 'b2']
    zs = torch.stack([unit(DAC_ZERO_SHOT[n]) for n in names])
    ft = torch.stack([unit(DAC_TUNED[n]) for n in names])
    zs_b = torch.stack([unit(DAC_ZERO_SHOT[n]) for n in base])
    ft_b = torch.stack([unit(DAC_TUNED[n]) for n in base])
    out = dac_factors(zs, ft, zs_b, ft_b, k=2, base_guard=False)
    assert out.dtype == torch.float64
    assert out.tolist() == pytest.approx([S_B0, S_N, S_M], rel=1e-12)
    # k = 1: only the nearest base class counts.
    #   b0: 0 and 0 -> 1;  n: 1 and √2;  m: √2 and 2 sin 22.5°
    out = dac_factors(zs, ft, zs_b, ft_b, k=1, base_guard=False)
    expected = [1.0, math.exp(1 - math.sqrt(2)),
                math.exp(math.sqrt(2) - chord(45))]
    assert out.tolist() == pytest.approx(expected, rel=1e-12)
    # k larger than the number of base classes: all 3 of them.
    #   n: z (√3 + 1 + 1) / 3, t (√2 + 2 + √2) / 3
    out = dac_factors(zs, ft, zs_b, ft_b, k=10, base_guard=False)
    assert out[1].item() == pytest.approx(
        math.exp((math.sqrt(3) + 2) / 3 - (2 * math.sqrt(2) + 2) / 3),
        rel=1e-12)
    with pytest.raises(ValueError, match='k'):
        dac_factors(zs, ft, zs_b, ft_b, k=0)


def test_dac_base_classes_are_exactly_one_under_the_guard():
    """Every class that is also a base class keeps factor 1 (distance 0)."""
    stub = dac_stub(classnames=['b0', 'b1', 'b2', 'n'])
    dac = DAC(k=2)
    dac.set_classes(stub)
    assert dac.factors[:3].tolist() == [1.0, 1.0, 1.0]
    assert dac.factors[3].item() == pytest.approx(S_N, rel=1e-6)
    # Without the guard the base classes move, since tuning changed their
    # geometry: b1 z 0, 1 (b0) -> .5; t 0, √2 (b0, b2) -> √2/2, like b0;
    # b2 z 0, √3 (b1, 120°) -> √3/2; t 0, √2 (b1, 90°) -> √2/2.
    dac = DAC(k=2, base_guard=False)
    dac.set_classes(stub)
    s_b2 = math.exp((math.sqrt(3) - math.sqrt(2)) / 2)
    assert dac.factors[:3].tolist() == pytest.approx([S_B0, S_B0, s_b2],
                                                     rel=1e-6)
    assert all(abs(s - 1) > 0.1 for s in dac.factors[:3].tolist())


def test_dac_guard_threshold_is_configurable():
    """A class 0.03 from a tuned base feature is base at 0.05, not 0.01."""
    theta = math.degrees(2 * math.asin(0.015))  # chord of exactly 0.03
    zs = {'b0': unit(0), 'b1': unit(60), 'b2': unit(180), 'g': unit(30)}
    tuned = {'b0': unit(0), 'b1': unit(90), 'b2': unit(180),
             'g': unit(theta)}
    stub = FeatureStub(zs, tuned, ['g'], ['b0', 'b1', 'b2'])
    assert torch.dist(tuned['g'], tuned['b0']).item() == pytest.approx(0.03)
    # k = 1: zero-shot nearest is b0 or b1, 30° away; tuned nearest b0.
    unguarded = math.exp(chord(30) - 0.03)
    for threshold, expected in ((0.05, 1.0), (0.01, unguarded)):
        dac = DAC(k=1, guard_threshold=threshold)
        dac.set_classes(stub)
        assert dac.factors.item() == pytest.approx(expected, rel=1e-6)
    dac = DAC(k=1)  # the default threshold is 0.05
    dac.set_classes(stub)
    assert dac.factors.item() == 1.0


def test_dac_uses_the_model_base_classnames():
    """The base set is ``model.base_classnames``, not the current classes.

    With b2 dropped from the base classes, n (k = 2) is compared with b0 and
    b1 only: z (√3 + 1) / 2, t (√2 + 2) / 2.
    """
    dac = DAC(k=2)
    stub = dac_stub(base=['b0', 'b1'])
    dac.set_classes(stub)
    s_n = math.exp((math.sqrt(3) + 1) / 2 - (math.sqrt(2) + 2) / 2)
    assert dac.factors[1].item() == pytest.approx(s_n, rel=1e-6)
    # The tuned features of the base classes were asked for by name.
    assert ['b0', 'b1'] in stub.tuned_calls
    # With every current class a base class, nothing is scaled.
    dac.set_classes(dac_stub(base=['b0', 'n', 'm']))
    assert dac.factors.tolist() == [1.0, 1.0, 1.0]


def test_dac_calibrate_multiplies_each_column():
    """z'_nc = s_c z_nc; a logit width that does not match is refused."""
    dac = DAC(k=2)
    dac.set_classes(dac_stub())
    logits = torch.tensor([[2.0, -3.0, 0.5], [-1.0, 4.0, -2.0]])
    expected = [[2.0, -3.0 * S_N, 0.5 * S_M], [-1.0, 4.0 * S_N, -2.0 * S_M]]
    out = dac.calibrate(logits)
    assert out.tolist()[0] == pytest.approx(expected[0], rel=1e-6)
    assert out.tolist()[1] == pytest.approx(expected[1], rel=1e-6)
    with pytest.raises(RuntimeError, match='set_classes'):
        dac.calibrate(torch.zeros(2, 4))
    with pytest.raises(ValueError):
        DAC(k=0)


def reference_factors(zs, ft, zs_base, ft_base, k, threshold=0.05):
    """DAC factors with plain-Python distances (lists of rows)."""
    out = []
    for z, t in zip(zs, ft, strict=True):
        d_zs = sorted(math.dist(z, b) for b in zs_base)[:k]
        d_ft = sorted(math.dist(t, b) for b in ft_base)[:k]
        out.append(1.0 if d_ft[0] < threshold else math.exp(
            sum(d_zs) / len(d_zs) - sum(d_ft) / len(d_ft)))
    return out


def test_dac_through_the_classifier_keeps_predictions_and_ranks(
        make_tiny_classifier_cfg):
    """DAC rescales new-class logits of the real classifier.

    Every factor is positive, so each logit keeps its sign; with no logit
    bias p = sigmoid(z) >= 0.5 iff z >= 0, so predictions at threshold 0.5
    are unchanged. Within a class all images share the factor, so the
    per-class ranking of images (mAP) is unchanged too. Confidences of
    the scaled (new) classes change; base classes are untouched.
    """
    names = ['cat', 'dog', 'boat', 'traffic light', 'hot dog']
    base = names[:3]
    model = build_classifier(make_tiny_classifier_cfg, names,
                             calibrators=[dict(type='DAC', k=2)])
    model.set_classes(names, base)
    dac = model.calibrators[0]
    with torch.no_grad():
        expected = reference_factors(
            model.view.zero_shot_features(names).tolist(),
            model.view.tuned_features(names).tolist(),
            model.view.zero_shot_features(base).tolist(),
            model.view.tuned_features(base).tolist(), k=2)
    assert dac.factors.tolist() == pytest.approx(expected, rel=1e-4)
    assert dac.factors[:3].tolist() == [1.0, 1.0, 1.0]
    assert all(abs(s - 1) > 1e-4 for s in dac.factors[3:].tolist())

    images = random_images(8)
    samples = dict(gt_label=torch.zeros(8, 5, dtype=torch.long),
                   sample_idx=torch.arange(8))
    with torch.no_grad():
        raw = model(images, mode='tensor')
        results = model(images, samples, mode='predict')
    calibrated = torch.stack([r['logits'] for r in results])
    assert calibrated.shape == (8, 5)
    torch.testing.assert_close(
        calibrated, raw * torch.tensor(expected, dtype=torch.float32),
        rtol=1e-4, atol=1e-5)
    assert torch.equal(calibrated[:, :3], raw[:, :3])
    assert torch.equal(calibrated >= 0, raw >= 0)
    for c in range(5):
        assert torch.equal(calibrated[:, c].argsort(), raw[:, c].argsort())
    p_raw = torch.sigmoid(raw.double())
    p_cal = torch.sigmoid(calibrated.double())
    assert torch.equal(p_cal >= 0.5, p_raw >= 0.5)
    assert (p_cal[:, 3:] - p_raw[:, 3:]).abs().min() > 0


def test_classifier_reprepares_dac_when_the_prompts_change(
        make_tiny_classifier_cfg):
    """set_classes with the same names recomputes the factors."""
    names = ['cat', 'dog', 'boat', 'traffic light']
    model = build_classifier(make_tiny_classifier_cfg, names,
                             calibrators=[dict(type='DAC', k=2)])
    model.set_classes(names, names[:2])
    before = model.calibrators[0].factors.clone()
    with torch.no_grad():
        model.learner.ctx.add_(0.5 * torch.randn_like(model.learner.ctx))
    model.set_classes(names, names[:2])
    after = model.calibrators[0].factors
    assert after[:2].tolist() == [1.0, 1.0]
    assert not torch.allclose(before[2:], after[2:])


# ---------------------------------------------------------------------- #
# text deviation, TextAnchor                                             #
# ---------------------------------------------------------------------- #
def test_text_deviation_hand_values():
    """cosine = 1 - mean cos; squared_l2 = mean |t' - t|^2 = 2 x cosine.

    Rows: 0° vs 0° (cos 1, |d|^2 0), 90° vs 0° (cos 0, |d|^2 2), 60° vs 0°
    (cos .5, |d|^2 1): cosine 1 - 1.5 / 3 = .5, squared_l2 3 / 3 = 1.
    """
    tuned = torch.stack([unit(0), unit(90), unit(60)]).float()
    zero_shot = torch.stack([unit(0), unit(0), unit(0)]).float()
    assert text_deviation(tuned, zero_shot).item() == pytest.approx(0.5)
    assert text_deviation(tuned, zero_shot, 'squared_l2').item() == \
        pytest.approx(1.0)
    # Lengths do not matter: features are normalised first.
    assert text_deviation(3 * tuned, 0.5 * zero_shot).item() == \
        pytest.approx(0.5)
    assert text_deviation(zero_shot, zero_shot).item() == pytest.approx(
        0.0, abs=1e-7)
    with pytest.raises(ValueError, match='form'):
        text_deviation(tuned, zero_shot, 'l1')


def test_text_deviation_squared_l2_is_twice_cosine():
    """On random vectors, and gradients reach only the tuned side."""
    gen = torch.Generator().manual_seed(0)
    tuned = torch.randn(6, 8, generator=gen).requires_grad_(True)
    zero_shot = torch.randn(6, 8, generator=gen).requires_grad_(True)
    cos = text_deviation(tuned, zero_shot, 'cosine')
    l2 = text_deviation(tuned, zero_shot, 'squared_l2')
    assert l2.item() == pytest.approx(2 * cos.item(), rel=1e-5)
    expected = 1 - F.cosine_similarity(tuned, zero_shot, dim=1).mean()
    assert cos.item() == pytest.approx(expected.item(), rel=1e-5)
    l2.backward()
    assert tuned.grad is not None and tuned.grad.abs().sum() > 0
    assert zero_shot.grad is None


def anchor_case(tuned_degrees):
    """A view whose zero-shot features sit at 0° and the learner output
    whose class features sit at ``tuned_degrees``."""
    names = [f'c{i}' for i in range(len(tuned_degrees))]
    zs = {n: unit(0).float() for n in names}
    tuned = torch.stack([unit(d).float() for d in tuned_degrees])
    output = LearnerOutput(logits=torch.zeros(1, len(names)),
                           text_features=tuned)
    return output, FeatureStub(zs, {}, names)


def test_text_anchor_zero_when_tuned_equals_zero_shot():
    for form in ('squared_l2', 'cosine'):
        out = TextAnchor(form=form).loss(*anchor_case([0, 0])[:1], None,
                                         anchor_case([0, 0])[1])
        assert set(out) == {'loss_text_anchor'}
        assert out['loss_text_anchor'].item() == pytest.approx(0, abs=1e-7)


def test_text_anchor_weight_scales_the_hand_value():
    """Rows at 0° and 90° from zero-shot: cosine (0 + 1) / 2 = .5 (KgCoOp's
    official form, the default), squared_l2 (0 + 2) / 2 = 1."""
    output, stub = anchor_case([0, 90])
    default = CALIBRATORS.build(dict(type='TextAnchor'))
    assert (default.loss_weight, default.form) == (8.0, 'cosine')
    assert default.loss(output, None, stub)['loss_text_anchor'].item() == \
        pytest.approx(4.0)
    half = TextAnchor(loss_weight=0.5, form='squared_l2').loss(
        output, None, stub)
    assert half['loss_text_anchor'].item() == pytest.approx(0.5)
    cosine = TextAnchor(loss_weight=2.0).loss(output, None, stub)
    assert cosine['loss_text_anchor'].item() == pytest.approx(1.0)  # 2 x .5
    # The anchor reads the forward's features: it never asks for tuned ones.
    assert stub.tuned_calls == []
    with pytest.raises(ValueError):
        TextAnchor(form='l1')


def test_text_anchor_through_the_classifier(make_tiny_classifier_cfg):
    """Zero for the template's own words, gradient into the context."""
    names = ['cat', 'dog', 'traffic light']
    images = random_images(2)
    samples = dict(gt_label=torch.tensor([[1, 0, 0], [0, 1, 1]]))
    # CoOp initialised with the zero-shot template's words ('a photo of a
    # {}.') reproduces the zero-shot features.
    model = build_classifier(
        make_tiny_classifier_cfg, names,
        learner=dict(type='CoOp', ctx_init='a photo of a'),
        calibrators=[dict(type='TextAnchor')])
    losses = model(images, samples, mode='loss')
    assert losses['loss_text_anchor'].item() == pytest.approx(0, abs=1e-5)

    model = build_classifier(make_tiny_classifier_cfg, names,
                             calibrators=[dict(type='TextAnchor')])
    model.train()
    losses = model(images, samples, mode='loss')
    backbone = model.backbone
    with torch.no_grad():
        zero_shot = F.normalize(backbone.clip.encode_text(backbone.tokenizer(
            [f'a photo of a {n}.' for n in names])), dim=-1)
        tuned = F.normalize(model.learner.class_features(backbone, None),
                            dim=-1)
    expected = 8.0 * (1 - (tuned * zero_shot).sum(1).mean())
    assert losses['loss_text_anchor'].item() == pytest.approx(
        expected.item(), rel=1e-4)
    assert losses['loss_text_anchor'].item() > 0
    losses['loss_text_anchor'].backward()
    assert_only_prompt_gradient(model)


# ---------------------------------------------------------------------- #
# DOR                                                                    #
# ---------------------------------------------------------------------- #
def test_load_vocabulary_skips_comments_blanks_and_duplicates(tmp_path):
    path = tmp_path / 'vocab.txt'
    path.write_text('# header\n\napple\n  pear  \n# note\napple\nhot dog\n'
                    '\n  \npear\n', encoding='utf-8')
    assert load_vocabulary(str(path)) == ['apple', 'pear', 'hot dog']


def test_load_vocabulary_missing_and_empty(tmp_path):
    missing = tmp_path / 'nowhere' / 'nouns.txt'
    with pytest.raises(FileNotFoundError) as err:
        load_vocabulary(str(missing))
    assert str(missing) in str(err.value)
    assert 'build_dor_vocab.py' in str(err.value)
    empty = tmp_path / 'empty.txt'
    empty.write_text('# only a comment\n\n', encoding='utf-8')
    with pytest.raises(ValueError, match='no words'):
        load_vocabulary(str(empty))
    with pytest.raises(FileNotFoundError, match='build_dor_vocab.py'):
        DOR(vocab_file=str(missing))


def test_dor_rejects_bad_counts(tmp_path):
    vocab = write_vocab(tmp_path / 'v.txt', NOUNS)
    for key in ('pool_size', 'num_outliers', 'chunk_size'):
        with pytest.raises(ValueError, match=key):
            DOR(vocab_file=vocab, **{key: 0})


def test_rank_outliers_by_mean_cosine():
    """Mean cosines to the base classes e0 and e1: .5, .7, 0, -.5, .4."""
    base = torch.tensor([[1., 0, 0], [0, 1, 0]])
    words = torch.tensor([[1., 0, 0], [.6, .8, 0], [0, 0, 1], [-1, 0, 0],
                          [.8, 0, .6]])
    assert rank_outliers(words, base, 3).tolist() == [1, 0, 4]
    assert rank_outliers(words, base, 100).tolist() == [1, 0, 4, 2, 3]
    # ties keep the vocabulary order
    tied = torch.tensor([[0, 0, 1.], [.6, .8, 0], [0, 0, 1], [.6, .8, 0]])
    assert rank_outliers(tied, base, 4).tolist() == [1, 3, 0, 2]


def pool_stub(dims=3):
    """Base classes 'cat' = e0, 'dog' = e1 and five words (see above).

    'Cat' and 'DOG' in the vocabulary are training class names in another
    case; they would rank first and second (mean cosine .5 and .5).
    """
    def vec(*xs):
        return torch.tensor(xs + (0.,) * (dims - len(xs)))

    zs = dict(cat=vec(1., 0), dog=vec(0., 1), Cat=vec(1., 0),
              DOG=vec(.6, .8), lamp=vec(1., 0), sofa=vec(.6, .8),
              rock=vec(0., 0, 1), cloud=vec(-1., 0), tree=vec(.8, 0, .6))
    return FeatureStub(zs, dict(zs), ['cat', 'dog'])


@pytest.mark.parametrize('chunk_size', [1024, 2])
def test_dor_pool_ranked_and_excludes_training_classes(tmp_path, chunk_size):
    vocab = write_vocab(tmp_path / 'v.txt',
                        ['lamp', 'Cat', 'rock', 'sofa', 'DOG', 'cloud',
                         'tree'])
    dor = DOR(vocab_file=vocab, pool_size=3, chunk_size=chunk_size)
    stub = pool_stub()
    words, feats = dor.pool(stub)
    # sofa .7, lamp .5, tree .4 (rock 0 and cloud -.5 fall out)
    assert words == ['sofa', 'lamp', 'tree']
    torch.testing.assert_close(feats, stub.zero_shot_features(words))
    dor = DOR(vocab_file=vocab, pool_size=100, chunk_size=chunk_size)
    assert dor.pool(stub)[0] == ['sofa', 'lamp', 'tree', 'rock', 'cloud']


def test_dor_vocabulary_of_class_names_only(tmp_path):
    vocab = write_vocab(tmp_path / 'v.txt', ['CAT', 'Dog'])
    dor = DOR(vocab_file=vocab)
    with pytest.raises(ValueError, match='only training class names'):
        dor.pool(pool_stub())


def circle_stub(words, classes, shift):
    """Word i at 2-D angle 7 i degrees; tuned features turned by ``shift``."""
    zs = {w: unit(7 * i).float() for i, w in enumerate(words + classes)}
    tuned = {w: unit(7 * i + shift).float()
             for i, w in enumerate(words + classes)}
    return FeatureStub(zs, tuned, classes)


def test_dor_loss_zero_when_tuned_equals_zero_shot(tmp_path):
    vocab = write_vocab(tmp_path / 'v.txt', NOUNS)
    dor = DOR(vocab_file=vocab, num_outliers=5)
    out = dor.loss(None, None, circle_stub(NOUNS, ['cat'], shift=0))
    assert set(out) == {'loss_dor'}
    assert out['loss_dor'].item() == pytest.approx(0.0, abs=1e-6)


def test_dor_loss_hand_value(tmp_path):
    """Every tuned word turned by 60°: cos .5, loss 8 (1 - .5) = 4."""
    vocab = write_vocab(tmp_path / 'v.txt', NOUNS)
    dor = DOR(vocab_file=vocab, num_outliers=5)
    stub = circle_stub(NOUNS, ['cat'], shift=60)
    assert dor.loss(None, None, stub)['loss_dor'].item() == pytest.approx(
        4.0, rel=1e-5)
    dor = DOR(vocab_file=vocab, num_outliers=5, loss_weight=2.0)
    assert dor.loss(None, None, stub)['loss_dor'].item() == pytest.approx(
        1.0, rel=1e-5)


def drawn(dor, stub, seed=None):
    """The outlier words the next ``loss`` call encodes."""
    if seed is not None:
        torch.manual_seed(seed)
    dor.loss(None, None, stub)
    return stub.tuned_calls[-1]


def test_dor_resampling_is_seeded_and_fresh(tmp_path):
    vocab = write_vocab(tmp_path / 'v.txt', NOUNS)
    dor = DOR(vocab_file=vocab, pool_size=20, num_outliers=6)
    stub = circle_stub(NOUNS, ['cat'], shift=10)
    pool = dor.pool(stub)[0]
    assert len(pool) == 20
    first = drawn(dor, stub, seed=0)
    assert len(first) == 6 and len(set(first)) == 6
    assert set(first) <= set(pool)
    assert drawn(dor, stub, seed=0) == first  # same seed, same outliers
    assert drawn(dor, stub, seed=1) != first  # another seed, others
    # without reseeding every call draws afresh
    torch.manual_seed(0)
    draws = [tuple(drawn(dor, stub)) for _ in range(3)]
    assert draws[0] == tuple(first)
    assert len(set(draws)) == 3
    # more outliers asked than the pool holds: the whole pool
    dor = DOR(vocab_file=vocab, pool_size=4, num_outliers=64)
    assert sorted(drawn(dor, stub, seed=0)) == sorted(dor.pool(stub)[0])


def test_dor_through_the_classifier(make_tiny_classifier_cfg, tmp_path):
    """Real CoOp: 0 for the template's words, else gradient into ctx."""
    vocab = write_vocab(tmp_path / 'v.txt', ['# tiny vocabulary', 'Cat',
                                             *NOUNS])
    names = ['cat', 'dog', 'traffic light']
    images = random_images(2)
    samples = dict(gt_label=torch.tensor([[1, 0, 0], [0, 1, 1]]))
    dor_cfg = dict(type='DOR', vocab_file=vocab, pool_size=20,
                   num_outliers=8)
    model = build_classifier(
        make_tiny_classifier_cfg, names,
        learner=dict(type='CoOp', ctx_init='a photo of a'),
        calibrators=[dor_cfg])
    losses = model(images, samples, mode='loss')
    assert losses['loss_dor'].item() == pytest.approx(0.0, abs=1e-5)
    words, feats = model.calibrators[0].pool(model)
    assert len(words) == 20 and 'Cat' not in words
    backbone = model.backbone
    with torch.no_grad():
        text = F.normalize(backbone.clip.encode_text(backbone.tokenizer(
            [f'a photo of a {w}.' for w in words])), dim=-1)
    torch.testing.assert_close(feats, text, atol=1e-5, rtol=0)

    model = build_classifier(make_tiny_classifier_cfg, names,
                             calibrators=[dor_cfg])
    model.train()
    losses = model(images, samples, mode='loss')
    assert 0 < losses['loss_dor'].item() <= 16
    losses['loss_dor'].backward()
    assert_only_prompt_gradient(model)


@pytest.mark.parametrize('calibrator', ['DOR', 'DAC'])
def test_tuned_feature_calibrators_refused_when_the_model_is_built(
        make_tiny_classifier_cfg, tmp_path, calibrator):
    """A class-specific context has no prompt for an arbitrary name: the
    combination fails at build time, naming both parts, not at iteration N."""
    cfg = dict(type=calibrator)
    if calibrator == 'DOR':
        cfg.update(vocab_file=write_vocab(tmp_path / 'v.txt', NOUNS))
    csc = dict(type='CoOp', n_ctx=4, class_specific=True, num_classes=2)
    with pytest.raises(ValueError, match=f'{calibrator}.*CoOp.*unified'):
        build_classifier(make_tiny_classifier_cfg, ['cat', 'dog'],
                         learner=csc, calibrators=[cfg])
    # Calibrators that only read the forward's outputs combine fine.
    model = build_classifier(
        make_tiny_classifier_cfg, ['cat', 'dog'], learner=csc,
        calibrators=[dict(type='TextAnchor'), dict(type='CCR')])
    losses = model(random_images(4), dict(gt_label=torch.tensor(
        [[1, 0], [0, 0], [0, 1], [0, 0]])), mode='loss')
    assert {'loss_cls', 'loss_text_anchor', 'loss_ccr'} <= set(losses)


# ---------------------------------------------------------------------- #
# temperature scaling                                                    #
# ---------------------------------------------------------------------- #
def nll(logits, labels, temperature):
    """Mean BCE of ``logits / T`` over labelled entries (plain formula)."""
    z = logits.double() / temperature
    y = labels.clamp(min=0).double()
    loss = torch.logaddexp(torch.zeros_like(z), z) - y * z
    return loss[labels >= 0].mean().item()


def grid_temperature(logits, labels):
    """NLL-optimal T by refined grid search over log(1 / T).

    The NLL is convex in beta = 1 / T (a logistic loss of beta z), so the
    grid minimum and its neighbours bracket the true one; six rounds of 41
    points on [1e-2, 1e2] narrow it to ~1e-7 relative.
    """
    valid = labels >= 0
    z, y = logits.double()[valid], labels[valid].double()
    lo, hi = math.log(1e-2), math.log(1e2)
    for _ in range(6):
        grid = torch.linspace(lo, hi, 41, dtype=torch.float64)
        bz = grid.exp()[:, None] * z
        loss = (torch.logaddexp(torch.zeros_like(bz), bz) - y * bz).mean(1)
        i = int(loss.argmin())
        lo, hi = grid[max(i - 1, 0)].item(), grid[min(i + 1, 40)].item()
    return math.exp(-(lo + hi) / 2)


def synthetic(seed, num, scales):
    """True logits s ~ N(0, 2^2), labels ~ Bernoulli(sigmoid(s)), model
    logits ``scale x s`` per column: scale > 1 is over-confident."""
    gen = torch.Generator().manual_seed(seed)
    s = 2 * torch.randn(num, len(scales), generator=gen, dtype=torch.float64)
    draw = torch.rand(num, len(scales), generator=gen, dtype=torch.float64)
    labels = (draw < torch.sigmoid(s)).long()
    return s * torch.tensor(scales, dtype=torch.float64), labels


@pytest.mark.parametrize('scale', [4.0, 0.5])
def test_fit_temperature_recovers_the_over_confidence(scale):
    """logits = scale x true logits: T ~ scale, and a better held-out NLL.

    Over-confident (4) gives T > 1, under-confident (.5) T < 1.
    """
    logits, labels = synthetic(0, 5000, [scale] * 4)
    t = fit_temperature(logits, labels)
    assert t.shape == (1,) and t.dtype == torch.float64
    t = t.item()
    assert t == pytest.approx(scale, rel=0.1)
    assert (t > 1) == (scale > 1)
    assert t == pytest.approx(grid_temperature(logits, labels), rel=1e-3)
    new_logits, new_labels = synthetic(1, 5000, [scale] * 4)
    assert nll(new_logits, new_labels, t) < nll(new_logits, new_labels, 1.0)


def test_fit_temperature_ignores_unknown_labels():
    """Entries labelled -1 do not count, whatever their logits."""
    logits, labels = synthetic(2, 2000, [3.0, 3.0])
    gen = torch.Generator().manual_seed(5)
    unknown = torch.rand(labels.shape, generator=gen) < 0.2
    labels[unknown] = -1
    t = fit_temperature(logits, labels).item()
    wild = logits.clone()
    wild[unknown] = 1000 * torch.sign(torch.randn(int(unknown.sum()),
                                                  generator=gen,
                                                  dtype=torch.float64))
    assert fit_temperature(wild, labels).item() == pytest.approx(t, rel=1e-9)
    assert t == pytest.approx(grid_temperature(logits, labels), rel=1e-3)


def test_fit_temperature_clips_and_checks_inputs():
    # uninformative logits (+-1, both labelled 1): the NLL falls as T grows
    # (optimum at 1 / T = 0); clipped to 100
    assert fit_temperature(torch.tensor([[1.0, -1.0]]),
                           torch.tensor([[1, 1]])).item() == 100.0
    # separable data: the NLL falls as T -> 0; a sharp, small T
    logits = torch.tensor([[5.0, -5.0], [3.0, -2.0]])
    labels = torch.tensor([[1, 0], [1, 0]])
    t = fit_temperature(logits, labels).item()
    assert 1e-2 <= t < 0.5 and nll(logits, labels, t) < 1e-6
    with pytest.raises(ValueError, match='no labelled'):
        fit_temperature(logits, torch.full((2, 2), -1))
    with pytest.raises(ValueError):
        fit_temperature(logits, labels[:, :1])


def test_per_class_temperatures():
    """Columns over-confident by 1, 2.5 and 5 get T near 1, 2.5 and 5.

    Column 3 has no positive in the fitting data and column 4 no label at
    all: they, and classes never seen while fitting, use the global T.
    """
    logits, labels = synthetic(3, 4000, [1.0, 2.5, 5.0, 2.0, 2.0])
    labels[:, 3] = 0
    labels[:, 4] = -1
    names = ['a', 'b', 'c', 'nopos', 'unlabelled']
    ts = TemperatureScaling(per_class=True)
    ts.fit(logits, labels, names)
    assert set(ts.class_temperatures) == {'a', 'b', 'c'}
    for c, (name, truth) in enumerate(zip('abc', [1.0, 2.5, 5.0],
                                          strict=True)):
        fitted = ts.class_temperatures[name]
        assert fitted == pytest.approx(truth, rel=0.15)
        column = grid_temperature(logits[:, c:c + 1], labels[:, c:c + 1])
        assert fitted == pytest.approx(column, rel=1e-3)
    assert ts.temperature == pytest.approx(
        grid_temperature(logits, labels), rel=1e-3)
    ts.set_classes(SimpleNamespace(
        classnames=['c', 'new', 'nopos', 'a', 'unlabelled']))
    g = ts.temperature
    expected = [ts.class_temperatures['c'], g, g, ts.class_temperatures['a'],
                g]
    assert ts.temperatures().tolist() == pytest.approx(expected, rel=1e-6)
    out = ts.calibrate(torch.ones(2, 5))
    assert out[0].tolist() == pytest.approx([1 / t for t in expected],
                                            rel=1e-6)


def test_temperature_scaling_global_only():
    """per_class=False: one T for every class, fitted on all columns."""
    logits, labels = synthetic(4, 3000, [1.0, 5.0])
    ts = TemperatureScaling()
    ts.fit(logits, labels, ['a', 'b'])
    assert ts.class_temperatures == {}
    assert ts.temperature == pytest.approx(
        grid_temperature(logits, labels), rel=1e-3)
    ts.set_classes(SimpleNamespace(classnames=['b', 'a', 'z']))
    assert ts.temperatures().tolist() == pytest.approx([ts.temperature] * 3,
                                                       rel=1e-6)
    with pytest.raises(ValueError, match='class names'):
        ts.fit(logits, labels, ['a'])


def test_temperature_state_round_trip_and_calibrate():
    """State as JSON; calibrate divides by T (hand values)."""
    ts = TemperatureScaling(per_class=True)
    assert ts.fit_state() is None
    ts.set_classes(SimpleNamespace(classnames=['a', 'b']))
    with pytest.raises(RuntimeError, match='CalibratorFitHook'):
        ts.calibrate(torch.zeros(1, 2))
    ts.load_fit_state(dict(temperature=2.0, class_temperatures=dict(b=4.0)))
    logits = torch.tensor([[2.0, 8.0], [-3.0, -2.0], [0.0, 1.0]])
    assert ts.calibrate(logits).tolist() == [[1.0, 2.0], [-1.5, -0.5],
                                             [0.0, 0.25]]
    with pytest.raises(RuntimeError, match='set_classes'):
        ts.calibrate(torch.zeros(1, 3))

    logits, labels = synthetic(6, 1000, [3.0, 1.5])
    fitted = TemperatureScaling(per_class=True)
    fitted.fit(logits, labels, ['a', 'b'])
    state = json.loads(json.dumps(fitted.fit_state()))
    restored = TemperatureScaling(per_class=True)
    restored.load_fit_state(state)
    for ts in (fitted, restored):
        ts.set_classes(SimpleNamespace(classnames=['b', 'a', 'new']))
    assert restored.temperatures().tolist() == fitted.temperatures().tolist()
    assert torch.equal(restored.calibrate(logits[:, [1, 0, 0]]),
                       fitted.calibrate(logits[:, [1, 0, 0]]))
    with pytest.raises(ValueError, match='invalid TemperatureScaling'):
        restored.load_fit_state(dict(class_temperatures={}))


def test_temperature_keeps_every_sign():
    logits, labels = synthetic(7, 500, [4.0, 0.3, 1.0])
    logits[0] = 0.0
    ts = TemperatureScaling(per_class=True)
    ts.fit(logits, labels, ['a', 'b', 'c'])
    ts.set_classes(SimpleNamespace(classnames=['a', 'b', 'c']))
    out = ts.calibrate(logits)
    assert torch.equal(torch.sign(out), torch.sign(logits))
    assert not torch.allclose(out, logits)


def test_calibrators_without_fitting():
    """needs_fit is set only for temperature scaling."""
    assert TemperatureScaling.needs_fit
    assert not DAC.needs_fit and not TextAnchor.needs_fit
    with pytest.raises(NotImplementedError):
        DAC().fit(torch.zeros(1, 1), torch.zeros(1, 1), ['a'])


# ---------------------------------------------------------------------- #
# classes: training classes are the base classes                         #
# ---------------------------------------------------------------------- #
def fake_runner(model, **datasets):
    """A runner with ``<name>_loop.dataloader.dataset.metainfo`` loops."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=0.1)
    runner = SimpleNamespace(model=model, _train_loop=None,
                             optim_wrapper=SimpleNamespace(optimizer=optimizer))
    for name, meta in datasets.items():
        dataset = SimpleNamespace(metainfo=meta)
        setattr(runner, f'{name}_loop',
                SimpleNamespace(dataloader=SimpleNamespace(dataset=dataset)))
    return runner


ALL = ['red square', 'red circle', 'blue square', 'blue circle']


def test_class_set_hook_records_training_classes(make_tiny_classifier_cfg):
    """Training classes become the base classes of later evaluations.

    The test metainfo names another base set; the recorded training
    classes win over it, and DAC leaves exactly them unscaled.
    """
    model = build_classifier(make_tiny_classifier_cfg, None,
                             calibrators=[dict(type='DAC', k=2)])
    train = dict(classes=['rs', 'rc', 'bs'], prompt_names=ALL[:3])
    test = dict(classes=['rs', 'rc', 'bs', 'bc'], prompt_names=ALL,
                base_prompt_names=ALL[:1])
    runner = fake_runner(model, train=train, test=test)
    hook = ClassSetHook()
    hook.before_train(runner)
    assert model.train_classnames == ALL[:3]
    assert model.classnames == model.base_classnames == ALL[:3]
    hook.before_test(runner)
    assert model.classnames == ALL
    assert model.base_classnames == ALL[:3]
    assert model.calibrators[0].factors[:3].tolist() == [1.0, 1.0, 1.0]
    assert model.calibrators[0].factors[3].item() != 1.0
    # Saved in the checkpoint's meta and restored from it.
    checkpoint = dict(meta=dict(seed=1))
    hook.before_save_checkpoint(runner, checkpoint)
    assert checkpoint['meta'] == dict(seed=1, train_classnames=ALL[:3])
    model.train_classnames = []
    hook.after_load_checkpoint(runner, checkpoint)
    assert model.train_classnames == ALL[:3]
    hook.after_load_checkpoint(runner, dict(meta={}))  # older checkpoints
    assert model.train_classnames == ALL[:3]


def test_class_set_hook_fallbacks_for_a_model_that_never_trained(
        make_tiny_classifier_cfg):
    """Without training: metainfo ``base_prompt_names``, else all names."""
    model = build_classifier(make_tiny_classifier_cfg, None)
    hook = ClassSetHook()
    test = dict(classes=['a', 'b', 'c', 'd'], prompt_names=ALL,
                base_prompt_names=ALL[1:3])
    hook.before_test(fake_runner(model, test=test))
    assert model.train_classnames == []
    assert (model.classnames, model.base_classnames) == (ALL, ALL[1:3])
    hook.before_test(fake_runner(model, test=dict(classes=ALL[:2])))
    assert model.classnames == model.base_classnames == ALL[:2]
    with pytest.raises(ValueError, match='no class names'):
        hook.before_test(fake_runner(model, test=dict(classes=[])))


def test_learners_are_told_the_training_classes(make_tiny_classifier_cfg):
    model = build_classifier(make_tiny_classifier_cfg, None)
    train = dict(classes=['rs', 'rc'], prompt_names=ALL[:2])
    test = dict(classes=['rs', 'rc', 'bs', 'bc'], prompt_names=ALL)
    runner = fake_runner(model, train=train, test=test)
    ClassSetHook().before_train(runner)
    assert model.learner.base_classnames == ALL[:2]
    ClassSetHook().before_test(runner)
    assert model.learner.classnames == ALL
    assert model.learner.base_classnames == ALL[:2]


def test_parameters_created_after_the_optimizer_stop_training(
        make_tiny_classifier_cfg):
    """A bias made in set_classes would never train: the run stops."""
    from mmccr.models import CoOp
    from mmccr.registry import PROMPT_LEARNERS

    @PROMPT_LEARNERS.register_module(force=True)
    class LateBiasCoOp(CoOp):

        def set_classes(self, classnames, backbone, base_classnames=None):
            super().set_classes(classnames, backbone, base_classnames)
            self.bias = torch.nn.Parameter(torch.zeros(len(classnames)))

    try:
        model = build_classifier(make_tiny_classifier_cfg, None,
                                 learner=dict(type='LateBiasCoOp', n_ctx=4))
        runner = fake_runner(model, train=dict(classes=['a', 'b'],
                                               prompt_names=ALL[:2]))
        with pytest.raises(RuntimeError, match=r"learner\.bias.*__init__"):
            ClassSetHook().before_train(runner)
    finally:
        PROMPT_LEARNERS.module_dict.pop('LateBiasCoOp')


def test_classifier_text_features(make_tiny_classifier_cfg):
    """Zero-shot = open_clip 'a photo of a {}.'; tuned are unit norm."""
    names = ['cat', 'hot dog']
    model = build_classifier(make_tiny_classifier_cfg, names)
    backbone = model.backbone
    with torch.no_grad():
        expected = F.normalize(backbone.clip.encode_text(backbone.tokenizer(
            ['a photo of a apple.', 'a photo of a cat.',
             'a photo of a hot dog.'])), dim=-1)
    torch.testing.assert_close(
        model.view.zero_shot_features(['apple', 'cat'], cache=False),
        expected[:2], atol=1e-5, rtol=0)
    # the current classes by default
    torch.testing.assert_close(model.view.zero_shot_features(), expected[1:],
                               atol=1e-5, rtol=0)
    tuned = model.view.tuned_features(['apple', 'cat', 'hot dog'])
    assert tuned.shape == (3, 32) and tuned.requires_grad
    torch.testing.assert_close(tuned.norm(dim=1), torch.ones(3))
    # the current classes by default, in the prompt learner's own encoding
    with torch.no_grad():
        own = F.normalize(model.learner.class_features(backbone, None), dim=-1)
    torch.testing.assert_close(model.view.tuned_features().detach(), own,
                               atol=1e-5, rtol=0)
