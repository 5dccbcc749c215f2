"""Tests of the thresholded recognition metrics: accuracy forms and
precision / recall / F1 (hand-computed, loops, torchmetrics)."""
import math

import numpy as np
import pytest
import torch
from torchmetrics.functional.classification import (
    multilabel_precision,
    multilabel_recall,
    multilabel_specificity,
)

from mmccr.evaluation.functional import (
    accuracy,
    balanced_accuracy,
    example_accuracy,
    per_class_precision_recall,
    positive_accuracy,
    precision_recall_f1,
)

NAN = float('nan')

# 3 images x 3 classes. Decisions at 0.5 (z >= 0):
#   image 0: 1 0 1   labels 1 0 1
#   image 1: 0 0 1   labels 0 1 0
#   image 2: 1 1 1   labels 0 1 -1  (class 2 of image 2 is unknown)
LOGITS = np.array([[2.0, -1.0, 0.5],
                   [-3.0, -1.0, 1.0],
                   [1.0, 2.0, 0.5]])
TARGETS = np.array([[1, 0, 1],
                    [0, 1, 0],
                    [0, 1, -1]])
# class 0: decisions 1 0 1 vs 1 0 0 -> TP 1, FP 1, FN 0, TN 1
# class 1: decisions 0 0 1 vs 0 1 1 -> TP 1, FP 0, FN 1, TN 1
# class 2: decisions 1 1 - vs 1 0 - -> TP 1, FP 1, FN 0, TN 0
# (counting the unknown as a negative would add an FP to class 2)


def test_accuracy_forms_by_hand():
    """Hamming, positive and balanced accuracy per class."""
    # (TP + TN) / known: 2/3, 2/3, 1/2
    assert np.allclose(accuracy(LOGITS, TARGETS), [2 / 3, 2 / 3, 1 / 2])
    # TP / positives: 1/1, 1/2, 1/1
    assert np.allclose(positive_accuracy(LOGITS, TARGETS), [1, 0.5, 1])
    # (TPR + TNR) / 2: (1 + 1/2) / 2, (1/2 + 1) / 2, (1 + 0/1) / 2
    assert np.allclose(balanced_accuracy(LOGITS, TARGETS),
                       [0.75, 0.75, 0.5])


def test_example_accuracy_by_hand():
    """Jaccard per image over the known entries, then the mean."""
    # image 0: pred {0, 2}, true {0, 2}: 2/2 = 1
    # image 1: pred {2}, true {1}: 0/2 = 0
    # image 2 (class 2 unknown): pred {0, 1}, true {1}: 1/2
    # (with the unknown counted: pred {0, 1, 2} -> 1/3)
    # mean (1 + 0 + 1/2) / 3 = 1/2
    value = example_accuracy(LOGITS, TARGETS)
    assert isinstance(value, float)
    assert value == pytest.approx(0.5)


def test_example_accuracy_empty_union_and_unknown_images():
    """Empty union counts as 1; images without known entries are left
    out; NaN when nothing is known."""
    logits = np.array([[-1.0, -2.0], [1.0, -1.0], [3.0, 3.0]])
    targets = np.array([[0, 0], [1, 0], [-1, -1]])
    # image 0: nothing predicted, nothing true -> 1; image 1: {0} vs {0}
    # -> 1; image 2: no known entry -> skipped (would be 1 or 0)
    assert example_accuracy(logits, targets) == 1.0
    targets = np.array([[0, 1], [1, 0], [-1, -1]])
    # image 0: pred {} vs true {1}: 0; image 1: 1 -> 1/2
    assert example_accuracy(logits, targets) == pytest.approx(0.5)
    assert np.isnan(example_accuracy(logits, -np.ones((3, 2))))


def test_precision_recall_f1_by_hand():
    """Per-class means (C*) and pooled counts (O*)."""
    precision, recall = per_class_precision_recall(LOGITS, TARGETS)
    # precision TP / (TP + FP): 1/2, 1/1, 1/2; recall TP / (TP + FN):
    # 1/1, 1/2, 1/1
    assert np.allclose(precision, [0.5, 1.0, 0.5])
    assert np.allclose(recall, [1.0, 0.5, 1.0])
    out = precision_recall_f1(LOGITS, TARGETS)
    assert set(out) == {'CP', 'CR', 'CF1', 'OP', 'OR', 'OF1'}
    assert all(isinstance(v, float) for v in out.values())
    # CP = (1/2 + 1 + 1/2) / 3 = 2/3; CR = (1 + 1/2 + 1) / 3 = 5/6
    # CF1 = 2 (2/3)(5/6) / (2/3 + 5/6) = (10/9) / (3/2) = 20/27
    assert out['CP'] == pytest.approx(2 / 3)
    assert out['CR'] == pytest.approx(5 / 6)
    assert out['CF1'] == pytest.approx(20 / 27)
    # pooled TP 3, FP 2, FN 1: OP 3/5, OR 3/4,
    # OF1 = 2 (.6)(.75) / 1.35 = .9 / 1.35 = 2/3
    assert out['OP'] == pytest.approx(0.6)
    assert out['OR'] == pytest.approx(0.75)
    assert out['OF1'] == pytest.approx(2 / 3)


def test_threshold_075_by_hand():
    """Threshold .75 is z >= ln 3 = 1.0986: z = 1 is now negative."""
    # decisions: image 0: 1 0 0; image 1: 0 0 0; image 2: 0 1 0
    # class 0: 1 0 0 vs 1 0 0 -> TP 1;  class 1: 0 0 1 vs 0 1 1 -> TP 1,
    # FN 1; class 2: 0 0 - vs 1 0 - -> FN 1, no predicted positive
    assert np.allclose(accuracy(LOGITS, TARGETS, 0.75), [1, 2 / 3, 1 / 2])
    assert np.allclose(positive_accuracy(LOGITS, TARGETS, 0.75),
                       [1, 0.5, 0])
    # TNR: 2/2, 1/1, 1/1
    assert np.allclose(balanced_accuracy(LOGITS, TARGETS, 0.75),
                       [1, 0.75, 0.5])
    out = precision_recall_f1(LOGITS, TARGETS, threshold=0.75)
    # class 2 has no predicted positive: precision 0 (ML-GCN/ASL)
    # CP = (1 + 1 + 0) / 3 = 2/3; CR = (1 + 1/2 + 0) / 3 = 1/2
    # CF1 = 2 (2/3)(1/2) / (7/6) = 4/7
    assert out['CP'] == pytest.approx(2 / 3)
    assert out['CR'] == pytest.approx(0.5)
    assert out['CF1'] == pytest.approx(4 / 7)
    # pooled TP 2, FP 0, FN 2: OP 1, OR 1/2, OF1 = 1 / 1.5
    assert (out['OP'], out['OR'], out['OF1']) == pytest.approx(
        (1.0, 0.5, 2 / 3))
    # example: image 0 {0} vs {0, 2}: 1/2; image 1 {} vs {1}: 0;
    # image 2 {1} vs {1}: 1 -> 1/2
    assert example_accuracy(LOGITS, TARGETS, 0.75) == pytest.approx(0.5)
    # p = .75 exactly is decided positive (p >= threshold)
    z = np.array([[math.log(3)]])
    assert positive_accuracy(z, np.ones((1, 1)), 0.75)[0] == 1.0
    for fn in (balanced_accuracy, positive_accuracy, example_accuracy,
               precision_recall_f1, per_class_precision_recall):
        with pytest.raises(ValueError):
            fn(LOGITS, TARGETS, 1.5)


def test_classes_without_positives_or_negatives():
    """NaN for undefined rates; such classes leave the C* means."""
    logits = np.array([[1.0, 1.0, -1.0], [-1.0, 1.0, -1.0]])
    targets = np.array([[1, 1, 0], [0, 1, 0]])
    # class 1: no negative -> balanced NaN; class 2: no positive ->
    # balanced, positive accuracy and recall NaN
    assert np.allclose(positive_accuracy(logits, targets)[:2], [1, 1])
    assert np.isnan(positive_accuracy(logits, targets)[2])
    balanced = balanced_accuracy(logits, targets)
    assert balanced[0] == 1.0 and np.isnan(balanced[1:]).all()
    precision, recall = per_class_precision_recall(logits, targets)
    assert np.allclose(precision, [1, 1, 0]) and np.isnan(recall[2])
    out = precision_recall_f1(logits, targets)
    # CP and CR over classes 0 and 1 only: precision 1, 1; recall 1, 1
    assert out['CP'] == 1.0 and out['CR'] == 1.0 and out['CF1'] == 1.0
    # nothing positive anywhere: no recall
    out = precision_recall_f1(logits, np.zeros((2, 3)))
    assert np.isnan(out['CR']) and np.isnan(out['OR'])
    assert out['OP'] == 0.0 and np.isnan(out['OF1'])


def random_data(seed, n=120, c=5):
    """Random logits; labels in {1, 0, -1} with every class having
    positives, negatives and predicted positives."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, size=(n, c))
    targets = (rng.random((n, c)) < 0.4).astype(np.int64)
    targets[rng.random((n, c)) < 0.1] = -1
    return logits, targets


def test_unknown_targets_ignored():
    """Changing the logits of -1 pairs changes nothing."""
    logits, targets = random_data(1)
    moved = logits.copy()
    rng = np.random.default_rng(2)
    moved[targets == -1] = rng.normal(0, 5, size=(targets == -1).sum())
    for fn in (accuracy, balanced_accuracy, positive_accuracy):
        assert np.array_equal(fn(logits, targets), fn(moved, targets))
    assert example_accuracy(logits, targets) == \
        example_accuracy(moved, targets)
    assert precision_recall_f1(logits, targets) == \
        precision_recall_f1(moved, targets)


def test_agree_with_torchmetrics():
    """Macro/micro precision and recall, TPR/TNR from torchmetrics."""
    logits, targets = random_data(3)
    probs = torch.from_numpy(1 / (1 + np.exp(-logits)))
    assert (probs - 0.5).abs().min() > 1e-9  # torchmetrics uses p > t
    target = torch.from_numpy(targets)
    kw = dict(num_labels=5, threshold=0.5, ignore_index=-1)
    precision, recall = per_class_precision_recall(logits, targets)
    assert np.allclose(
        precision, multilabel_precision(probs, target, average='none',
                                        **kw).numpy())
    tpr = multilabel_recall(probs, target, average='none', **kw).numpy()
    assert np.allclose(recall, tpr)
    assert np.allclose(positive_accuracy(logits, targets), tpr)
    tnr = multilabel_specificity(probs, target, average='none',
                                 **kw).numpy()
    assert np.allclose(balanced_accuracy(logits, targets), (tpr + tnr) / 2)
    out = precision_recall_f1(logits, targets)
    assert out['CP'] == pytest.approx(
        multilabel_precision(probs, target, average='macro', **kw).item())
    assert out['CR'] == pytest.approx(
        multilabel_recall(probs, target, average='macro', **kw).item())
    assert out['OP'] == pytest.approx(
        multilabel_precision(probs, target, average='micro', **kw).item())
    assert out['OR'] == pytest.approx(
        multilabel_recall(probs, target, average='micro', **kw).item())


def test_example_accuracy_matches_loop():
    """Random data: a set-based loop gives the same Jaccard mean."""
    logits, targets = random_data(4)
    total, images = 0.0, 0
    for z_row, y_row in zip(logits, targets, strict=True):
        known = [k for k, y in enumerate(y_row) if y >= 0]
        if not known:
            continue
        pred = {k for k in known if z_row[k] >= 0}
        true = {k for k in known if y_row[k] == 1}
        union = pred | true
        total += len(pred & true) / len(union) if union else 1.0
        images += 1
    assert example_accuracy(logits, targets) == pytest.approx(
        total / images)
    # torch tensors give the same
    assert example_accuracy(torch.from_numpy(logits),
                            torch.from_numpy(targets)) == \
        pytest.approx(total / images)
