"""Per-class AP against scikit-learn, and the group report."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from ltml_bench.metrics import GroupRule, average_precision, group_report


def sklearn_ap(scores: np.ndarray, targets: np.ndarray) -> list[float]:
    out = []
    for c in range(scores.shape[1]):
        if targets[:, c].sum() == 0:
            out.append(float("nan"))
        else:
            out.append(float(average_precision_score(targets[:, c], scores[:, c])))
    return out


NAMED_CASES = {
    "perfect": (np.array([[0.9], [0.8], [0.1]]), np.array([[1], [1], [0]])),
    "reversed": (np.array([[0.1], [0.2], [0.9]]), np.array([[1], [1], [0]])),
    "all_tied": (np.array([[0.5], [0.5], [0.5], [0.5]]), np.array([[1], [0], [1], [0]])),
    "partial_ties": (np.array([[3.0], [2.0], [2.0], [2.0], [1.0]]), np.array([[0], [1], [0], [1], [1]])),
    "only_positives": (np.array([[0.3], [0.1]]), np.array([[1], [1]])),
    "single_positive_last": (np.array([[5.0], [4.0], [3.0], [2.0]]), np.array([[0], [0], [0], [1]])),
    "logits_extreme": (np.array([[1e4], [-1e4], [0.0]]), np.array([[0], [1], [1]])),
}


@pytest.mark.parametrize("name", sorted(NAMED_CASES))
def test_named_cases_match_sklearn(name: str) -> None:
    scores, targets = NAMED_CASES[name]
    ours = average_precision(scores, targets).numpy()
    np.testing.assert_allclose(ours, sklearn_ap(scores, targets), atol=1e-6)


def test_hand_computed_value() -> None:
    # ranks: pos, neg, pos -> AP = (1/2) * (1/1 + 2/3)
    ap = average_precision(np.array([[3.0], [2.0], [1.0]]), np.array([[1], [0], [1]]))
    assert ap.item() == pytest.approx(0.5 * (1 + 2 / 3), abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_random_matrices_with_ties_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(2, 300)), int(rng.integers(1, 12))
    decimals = int(rng.integers(0, 3))  # coarse rounding creates many ties
    scores = np.round(rng.normal(size=(n, c)), decimals)
    targets = (rng.random((n, c)) < rng.uniform(0.05, 0.6)).astype(np.int64)
    ours = average_precision(torch.tensor(scores, dtype=torch.float32), torch.tensor(targets)).numpy()
    ref = sklearn_ap(scores.astype(np.float32), targets)
    np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_class_without_positive_is_nan_and_counted() -> None:
    scores = np.array([[0.9, 0.1], [0.2, 0.4], [0.3, 0.8]])
    targets = np.array([[1, 0], [0, 0], [1, 0]])
    ap = average_precision(scores, targets).numpy()
    assert ap[0] == pytest.approx(1.0)
    assert math.isnan(ap[1])
    report = group_report(scores, targets, train_counts=[150, 5])
    assert report.classes_without_positives == [1]
    assert report.per_class_ap[1] is None
    assert report.map["tail"] is None  # the only tail class has no positive: no tail mAP, not 0
    assert report.map["all"] == pytest.approx(100.0)


def test_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="must both be"):
        average_precision(np.zeros((3, 2)), np.zeros((3, 3)))


def test_group_rule_boundaries_follow_the_published_files() -> None:
    groups = GroupRule().assign([100, 99, 20, 19, 775, 4])
    assert groups == {"head": [0, 4], "middle": [1, 2], "tail": [3, 5]}
    custom = GroupRule(head_min=50, tail_below=10).assign([50, 49, 10, 9])
    assert custom == {"head": [0], "middle": [1, 2], "tail": [3]}
    with pytest.raises(ValueError):
        GroupRule(head_min=10, tail_below=20)


def test_group_report_means_in_percent() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(50, 4))
    targets = (rng.random((50, 4)) < 0.4).astype(int)
    counts = [500, 50, 5, 3]
    report = group_report(scores, targets, counts)
    ap = sklearn_ap(scores, targets)
    assert report.map["head"] == pytest.approx(100 * ap[0])
    assert report.map["middle"] == pytest.approx(100 * ap[1])
    assert report.map["tail"] == pytest.approx(100 * (ap[2] + ap[3]) / 2)
    assert report.map["all"] == pytest.approx(100 * np.mean(ap))
    assert report.rule == {"head_min": 100, "tail_below": 20}
