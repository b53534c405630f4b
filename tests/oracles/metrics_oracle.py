#!/usr/bin/python3
"""Expected classification metrics from scikit-learn, for tests/unit/metrics.

Usage: metrics_oracle.py OUT.json

Writes deterministic random and edge-case inputs together with the values the
paper's utils/metrics.py computes for them (docs/reference-code.md §6),
using scikit-learn (Debian python3-sklearn) directly. Probabilities are taken
in float64 from the float32 logits, as the C++ side does. NaN is written as
null. Needs only numpy and sklearn; exits non-zero if they are missing.
"""
import json
import sys
import warnings

import numpy as np
import sklearn
from sklearn import metrics

warnings.simplefilter("ignore")  # sklearn warns on every ill-defined score


def softmax64(logits):
    x = logits.astype(np.float64)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    # Ascending sequential sum, as the C++ side: permuted rows give identical
    # probabilities, so the tie structure does not depend on summation order.
    ascending = np.sort(e, axis=1)
    total = ascending[:, 0].copy()
    for j in range(1, e.shape[1]):
        total = total + ascending[:, j]
    return e / total[:, None]


def sigmoid64(logits):
    return 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))


def num(v):
    v = float(v)
    return None if np.isnan(v) else v


def single_label_expected(logits, labels, c):
    """DefaultClassificationMetrics.get_value, unrounded."""
    probs = softmax64(logits)
    y = labels.tolist()
    pred = logits.argmax(axis=1).tolist()  # first maximum, as torch.max(dim=1)
    out = {
        "accuracy": metrics.accuracy_score(y, pred),
        "precision": metrics.precision_score(y, pred, average="macro", zero_division=0),
        "recall": metrics.recall_score(y, pred, average="macro", zero_division=0),
        "f1": metrics.f1_score(y, pred, average="macro", zero_division=0),
        "cohen_kappa": metrics.cohen_kappa_score(y, pred, labels=list(range(c))),
        "quadratic_kappa": metrics.cohen_kappa_score(y, pred, labels=list(range(c)),
                                                     weights="quadratic"),
    }
    roc_scores = probs[:, 1] if c == 2 else probs
    try:
        out["roc_auc"] = metrics.roc_auc_score(y, roc_scores, average="macro", multi_class="ovo")
    except ValueError:  # the reference catches everything and reports 0.5
        out["roc_auc"] = 0.5
    return {k: num(v) for k, v in out.items()}


def reference_mean_roc_auc(truths, predictions):
    """The reference's mean_roc_auc, including its target/weight transform."""
    total = 0.0
    for k in range(predictions.shape[1]):
        auc = 0.5
        tar = (truths[:, k] + truths[:, k] ** 2) / 2
        if tar.sum() > 0:
            auc = metrics.roc_auc_score(tar, predictions[:, k], average="macro",
                                        sample_weight=truths[:, k] ** 2 + 1e-06,
                                        multi_class="ovo")
        total += auc
    return total / predictions.shape[1]


def multi_label_expected(logits, targets, c):
    """MultiLabelClassificationMetrics.get_value, unrounded; None if it raises."""
    truths = targets.astype(np.int64)
    scores = sigmoid64(logits)
    try:
        m_ap = metrics.average_precision_score(truths, scores, average="macro")
    except ValueError:
        m_ap = 0.0
    try:
        roc_auc = reference_mean_roc_auc(truths, scores)
    except ValueError:
        return None
    pred = (scores > 0.5) * 1
    labels = np.arange(c)
    out = {
        "mAP": m_ap,
        "roc_auc": roc_auc,
        "accuracy": metrics.accuracy_score(truths, pred),
        "precision": metrics.precision_score(truths, pred, average="macro", labels=labels,
                                             zero_division=0),
        "recall": metrics.recall_score(truths, pred, average="macro", labels=labels,
                                       zero_division=0),
        "f1": metrics.f1_score(truths, pred, average="macro", labels=labels, zero_division=0),
    }
    return {k: num(v) for k, v in out.items()}


def f32_list(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


cases = []


def single(name, logits, labels):
    logits = np.asarray(logits, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    n, c = logits.shape
    cases.append({"name": name, "kind": "single", "n": n, "num_classes": c,
                  "logits": f32_list(logits), "labels": labels.tolist(),
                  "expected": single_label_expected(logits, labels, c)})


def multi(name, logits, targets):
    logits = np.asarray(logits, dtype=np.float32)
    targets = np.asarray(targets, dtype=np.float32)
    n, c = logits.shape
    expected = multi_label_expected(logits, targets, c)
    case = {"name": name, "kind": "multi", "n": n, "num_classes": c,
            "logits": f32_list(logits), "targets": f32_list(targets)}
    if expected is None:
        case["error"] = True
    else:
        case["expected"] = expected
    cases.append(case)


def binary_scores(name, positive, scores):
    positive = np.asarray(positive, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    try:
        auc = metrics.roc_auc_score(positive, scores)
    except ValueError:
        auc = None
    ap = metrics.average_precision_score(positive, scores)
    cases.append({"name": name, "kind": "binary_scores", "positive": positive.tolist(),
                  "scores": scores.tolist(), "roc_auc": auc, "roc_auc_raises": auc is None,
                  "average_precision": num(ap)})


rng = np.random.default_rng(20220601)


def onehot_logits(pred, c, scale=3.0, noise=0.5):
    pred = np.asarray(pred)
    return scale * np.eye(c)[pred] + noise * rng.standard_normal((len(pred), c))


# ---- single-label -------------------------------------------------------
for c, n in [(2, 50), (5, 200), (8, 300), (2, 7), (5, 23)]:
    labels = rng.integers(0, c, n)
    labels[:c] = np.arange(c)  # every class present
    # Informative but noisy logits: label column boosted.
    logits = rng.standard_normal((n, c)) + 1.2 * np.eye(c)[labels]
    single(f"random_c{c}_n{n}", logits, labels)

for c, n in [(2, 60), (5, 120), (8, 200)]:  # coarse integer grid: many tied probabilities
    labels = rng.integers(0, c, n)
    labels[:c] = np.arange(c)
    logits = rng.integers(-2, 3, (n, c))
    single(f"ties_c{c}", logits, labels)
    # Self-check: the ascending-sum softmax keeps exactly the ties of the exact
    # probabilities (rounding to 12 decimals merges ulp-level differences).
    probs = softmax64(logits.astype(np.float32))
    probs = probs[:, 1] if c == 2 else probs
    exact = metrics.roc_auc_score(labels, np.round(probs, 12), multi_class="ovo")
    assert abs(cases[-1]["expected"]["roc_auc"] - exact) < 1e-12, (c, exact)

labels = rng.integers(0, 2, 3000)
single("ties_c2_large", np.round(rng.standard_normal((3000, 2)) * 2) / 2, labels)
labels = rng.integers(0, 8, 2000)
labels[:8] = np.arange(8)
single("random_c8_large", rng.standard_normal((2000, 8)) + np.eye(8)[labels], labels)

labels = np.array([0, 1, 2, 4, 4, 0, 1, 2, 0, 4, 1, 1])  # class 3 missing from y_true
single("missing_class_c5", rng.standard_normal((12, 5)), labels)
single("missing_class_predicted_c5", onehot_logits([0, 1, 2, 3, 4, 0, 1, 3, 0, 4, 1, 1], 5), labels)
labels = rng.integers(0, 5, 40)
labels[:5] = np.arange(5)
logits = rng.standard_normal((40, 5))
logits[:, 3] = -10.0  # class 3 never predicted
single("never_predicted_c5", logits, labels)
single("two_of_eight_present", rng.standard_normal((30, 8)), rng.integers(0, 2, 30) * 5)

for c in (2, 5):
    labels = np.tile(np.arange(c), 6)
    single(f"perfect_c{c}", 10.0 * np.eye(c)[labels], labels)
    single(f"inverted_c{c}", 10.0 * np.eye(c)[(labels + 1) % c], labels)
    single(f"all_same_scores_c{c}", np.zeros((len(labels), c)), labels)
    single(f"constant_rows_shifted_c{c}",
           np.arange(c)[None, :] + rng.integers(-3, 4, (len(labels), 1)), labels)

# Saturated softmax: float64 probabilities reach exactly 0 and 1 (ties).
labels = rng.integers(0, 2, 80)
single("saturated_c2", 60.0 * rng.standard_normal((80, 2)), labels)

single("n1_c2", [[0.3, -0.2]], [1])
single("n2_c2", [[0.3, -0.2], [0.1, 0.4]], [1, 0])
single("n3_c5", rng.standard_normal((3, 5)), [4, 0, 2])
single("one_class_only_c2", rng.standard_normal((10, 2)), np.ones(10, dtype=int))
single("one_class_agreeing_c3", onehot_logits(np.ones(9, dtype=int), 3), np.ones(9, dtype=int))
single("disjoint_single_classes_c3", onehot_logits(np.zeros(9, dtype=int), 3), np.full(9, 2))
single("tied_logits_argmax_first_c5", np.ones((10, 5)), rng.integers(0, 5, 10))

# ---- multi-label --------------------------------------------------------
for c, n in [(14, 100), (5, 40), (2, 10)]:
    prevalence = rng.uniform(0.1, 0.6, c)
    targets = (rng.uniform(size=(n, c)) < prevalence).astype(np.float32)
    targets[0, :] = 1
    targets[1, :] = 0
    multi(f"ml_random_c{c}_n{n}", rng.standard_normal((n, c)) + 1.5 * targets - 0.8, targets)

targets = (rng.uniform(size=(60, 6)) < 0.4).astype(np.float32)
targets[0, :] = 1
targets[1, :] = 0
multi("ml_ties", rng.integers(-2, 3, (60, 6)), targets)
targets[:, 2] = 0  # a class without positives: AUC 0.5, AP 0
multi("ml_column_without_positives", rng.standard_normal((60, 6)), targets)
targets_allpos = targets.copy()
targets_allpos[:, 4] = 1  # a class without negatives: the reference raises
multi("ml_column_without_negatives", rng.standard_normal((60, 6)), targets_allpos)
targets = (rng.uniform(size=(30, 4)) < 0.5).astype(np.float32)
targets[0, :] = 1
targets[1, :] = 0
multi("ml_perfect", 8.0 * (2 * targets - 1), targets)
multi("ml_inverted", -8.0 * (2 * targets - 1), targets)
multi("ml_all_zero_logits", np.zeros((30, 4)), targets)
multi("ml_saturated", 50.0 * rng.standard_normal((30, 4)), targets)
multi("ml_all_negative_targets", rng.standard_normal((8, 3)), np.zeros((8, 3)))
multi("ml_n1", [[0.5, -1.0, 2.0]], [[0, 0, 0]])

# ---- binary scores (the ranking metrics on their own) --------------------
positive = rng.integers(0, 2, 100)
binary_scores("bin_random", positive, rng.standard_normal(100) + positive)
binary_scores("bin_ties", positive, rng.integers(0, 4, 100).astype(float))
binary_scores("bin_all_same", positive, np.full(100, 0.25))
binary_scores("bin_perfect", positive, positive * 2.0 - 1.0)
binary_scores("bin_inverted", positive, 1.0 - positive)
binary_scores("bin_one_class", np.zeros(7, dtype=int), rng.standard_normal(7))
binary_scores("bin_n2", [1, 0], [0.4, 0.4])
binary_scores("bin_negative_zero", [1, 0, 1, 0], [0.0, -0.0, 1.0, 0.5])

if len(sys.argv) != 2:
    sys.exit("usage: metrics_oracle.py OUT.json")
with open(sys.argv[1], "w") as f:
    json.dump({"sklearn_version": sklearn.__version__, "numpy_version": np.__version__,
               "cases": cases}, f)
print(f"metrics_oracle: {len(cases)} cases, scikit-learn {sklearn.__version__}")
