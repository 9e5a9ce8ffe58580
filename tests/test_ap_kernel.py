"""The AP kernel against scikit-learn: ties, rare classes, dtypes, N < C, weights and resamples."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from ltml_bench.metrics import average_precision


def reference(scores: np.ndarray, targets: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """scikit-learn column by column; NaN where a class has no positive (weight)."""
    out = []
    for k in range(scores.shape[1]):
        positive = targets[:, k] != 0
        if (positive.sum() if weight is None else weight[positive].sum()) == 0:
            out.append(math.nan)
        else:
            out.append(float(average_precision_score(positive.astype(int), scores[:, k], sample_weight=weight)))
    return np.array(out)


def long_tailed(n: int, c: int, seed: int, decimals: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(n, c))
    if decimals is not None:
        scores = np.round(scores, decimals)
    prevalence = np.geomspace(0.5, 0.02, c)
    return scores, (rng.random((n, c)) < prevalence).astype(np.int64)


def test_ties_across_a_whole_class_and_inside_runs() -> None:
    scores = np.array([[0.5, 3.0], [0.5, 2.0], [0.5, 2.0], [0.5, 2.0], [0.5, 1.0]])
    targets = np.array([[1, 0], [0, 1], [1, 0], [0, 1], [0, 1]])
    ours = average_precision(scores, targets).numpy()
    np.testing.assert_allclose(ours, reference(scores, targets), rtol=0, atol=1e-12)
    assert ours[0] == pytest.approx(2 / 5)  # one threshold: precision 2/5 at recall 1
    # second class: the run of three 2.0s holds two positives, read at its last index (2/4)
    assert ours[1] == pytest.approx((2 / 3) * (2 / 4) + (1 / 3) * (3 / 5))


def test_one_positive_and_no_positive() -> None:
    scores = np.array([[0.9, 0.1, 0.3], [0.8, 0.7, 0.2], [0.1, 0.2, 0.1]])
    targets = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    ours = average_precision(scores, targets).numpy()
    assert ours[0] == pytest.approx(1 / 2) and ours[1] == pytest.approx(1 / 2)
    assert math.isnan(ours[2])
    np.testing.assert_allclose(ours[:2], reference(scores, targets)[:2], atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_dtypes_sort_in_their_own_precision(dtype: torch.dtype) -> None:
    scores, targets = long_tailed(300, 7, seed=3)
    s = torch.tensor(scores).to(dtype)  # the low precisions create ties of their own
    ours = average_precision(s, torch.tensor(targets)).numpy()
    ref = reference(s.to(torch.float64).numpy(), targets)  # exact widening: the same ties
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 40), (1, 5), (7, 1), (17, 300)])
def test_fewer_images_than_classes(shape: tuple[int, int]) -> None:
    scores, targets = long_tailed(*shape, seed=4, decimals=1)
    ours = average_precision(torch.tensor(scores, dtype=torch.float32), targets).numpy()
    ref = reference(scores.astype(np.float32), targets)
    assert np.array_equal(np.isnan(ours), np.isnan(ref))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def test_many_blocks_of_classes_give_the_same_values(monkeypatch: pytest.MonkeyPatch) -> None:
    import ltml_bench.metrics.ap as kernel

    scores, targets = long_tailed(200, 30, seed=5, decimals=1)
    whole = average_precision(scores, targets)
    monkeypatch.setitem(kernel._BLOCK_ELEMENTS, "cpu", 450)  # 2 classes per block, resamples in chunks of 2
    np.testing.assert_array_equal(average_precision(scores, targets).numpy(), whole.numpy())
    counts = np.random.default_rng(0).integers(0, 3, size=(3, 200))
    np.testing.assert_allclose(average_precision(scores, targets, counts).numpy(),
                               np.stack([reference(scores, targets, r) for r in counts]), atol=1e-12)


def test_weighted_matches_sklearn_including_zero_weights() -> None:
    scores, targets = long_tailed(120, 6, seed=6, decimals=1)
    rng = np.random.default_rng(6)
    weight = rng.random(120) * 3
    weight[rng.random(120) < 0.3] = 0.0  # zero-weight images count for nothing
    weight[:5] = 0.0
    ours = average_precision(scores, targets, torch.tensor(weight)).numpy()
    np.testing.assert_allclose(ours, reference(scores, targets, weight), rtol=0, atol=1e-12)
    # weights of ones are the plain AP; weights only on one class's positives' complement -> NaN
    np.testing.assert_allclose(average_precision(scores, targets, np.ones(120)).numpy(),
                               average_precision(scores, targets).numpy(), atol=1e-15)
    only_negatives = (targets[:, 0] == 0).astype(float)
    assert math.isnan(average_precision(scores, targets, only_negatives)[0].item())


def test_resample_counts_match_sklearn_and_repeated_rows() -> None:
    scores, targets = long_tailed(80, 5, seed=7, decimals=1)
    rng = np.random.default_rng(7)
    counts = np.stack([np.bincount(rng.integers(0, 80, 80), minlength=80) for _ in range(6)])
    counts[0] = 0
    counts[0, :3] = 1  # few drawn images: some classes have no positive drawn -> NaN
    ours = average_precision(torch.tensor(scores, dtype=torch.float32), targets, torch.tensor(counts))
    assert ours.shape == (6, 5) and ours.dtype == torch.float64
    ref = np.stack([reference(scores.astype(np.float32), targets, r) for r in counts])
    assert np.array_equal(np.isnan(ours.numpy()), np.isnan(ref)) and np.isnan(ref[0]).any()
    np.testing.assert_allclose(ours.numpy(), ref, rtol=0, atol=1e-12)
    # a resample is the AP of the data set with each image repeated as often as it was drawn
    rows = np.repeat(np.arange(80), counts[3])
    np.testing.assert_allclose(ours[3].numpy(), reference(scores[rows].astype(np.float32), targets[rows]), atol=1e-12)


def test_resample_counts_as_floats_and_one_row() -> None:
    scores, targets = long_tailed(40, 3, seed=8)
    counts = np.random.default_rng(8).integers(0, 4, size=(1, 40))
    as_float = average_precision(scores, targets, torch.tensor(counts, dtype=torch.float32))
    assert as_float.shape == (1, 3)
    np.testing.assert_allclose(as_float.numpy(), average_precision(scores, targets, counts).numpy(), atol=0)
    np.testing.assert_allclose(as_float[0].numpy(), average_precision(scores, targets, counts[0].astype(float)).numpy(), atol=1e-15)
    assert average_precision(scores, targets, np.zeros((0, 40), dtype=np.int64)).shape == (0, 3)


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        (np.ones(5), "must be \\[N\\] weights"),
        (-np.ones(4), "non-negative"),
        (np.array([1.0, np.nan, 1.0, 1.0]), "non-negative"),
        (np.full((2, 4), 0.5), "whole numbers"),
        (-np.ones((2, 4), dtype=np.int64), "whole numbers"),
        (np.ones((2, 2, 4)), "must be \\[N\\] weights"),
    ],
)
def test_bad_weights_say_what_is_wrong(weight: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        average_precision(np.zeros((4, 2)), np.ones((4, 2)), weight)


def test_nan_scores_raise() -> None:
    with pytest.raises(ValueError, match="NaN"):
        average_precision(np.array([[0.1], [np.nan]]), np.array([[1], [0]]))


def test_empty_inputs() -> None:
    assert torch.isnan(average_precision(np.zeros((0, 3)), np.zeros((0, 3)))).all()
    assert average_precision(np.zeros((5, 0)), np.zeros((5, 0))).shape == (0,)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_path_equals_cpu() -> None:
    scores, targets = long_tailed(500, 12, seed=9, decimals=2)
    counts = np.random.default_rng(9).integers(0, 3, size=(4, 500))
    for weight in (None, np.random.default_rng(9).random(500), counts):
        cpu = average_precision(scores, targets, weight)
        w = None if weight is None else torch.tensor(weight).cuda()
        gpu = average_precision(torch.tensor(scores).cuda(), torch.tensor(targets).cuda(), w)
        assert gpu.device.type == "cuda"
        np.testing.assert_allclose(gpu.cpu().numpy(), cpu.numpy(), rtol=0, atol=1e-12)


def test_signed_zeros_tie_and_the_input_is_left_alone() -> None:
    """-0.0 and +0.0 are one score (one run of ties, as in scikit-learn); sorting uses integer keys
    made from a copy, never from the caller's tensor."""
    scores = torch.tensor([[-0.0], [0.0], [-1.0], [2.0]])
    targets = np.array([[1], [0], [1], [0]])
    ours = average_precision(scores, targets).numpy()
    np.testing.assert_allclose(ours, reference(scores.numpy(), targets), atol=1e-12)
    assert ours[0] == pytest.approx(0.5 * (1 / 3) + 0.5 * (2 / 4))
    assert torch.signbit(scores[0, 0]) and not torch.signbit(scores[1, 0])  # unchanged
    column = torch.tensor([-0.0, 1.0, -2.0])  # a 1-D input's transposed view is contiguous
    average_precision(column, np.array([1, 0, 1]))
    assert torch.signbit(column[0])


@pytest.mark.parametrize("dtype", [torch.int16, torch.int32, torch.int64])
def test_cpu_sort_of_packed_keys_equals_torch_sort(dtype: torch.dtype) -> None:
    """The CPU sort primitive (NumPy's value sort of (~key) << 32 | index for 16/32-bit keys,
    torch.sort for 64-bit ones) against torch.sort: the same sorted keys, a permutation that reads
    them back, and inside each run of equal keys any order (AP reads a tie at its run's end)."""
    from ltml_bench.metrics.ap import _sort_descending

    info = torch.iinfo(dtype)
    g = torch.Generator().manual_seed(3)
    keys = torch.randint(-5, 6, (4, 300), generator=g, dtype=torch.int64).to(dtype)  # many ties
    keys[0, :3] = torch.tensor([info.min, info.max, -1], dtype=dtype)  # the extremes and -1 (~ of 0)
    vals, order = _sort_descending(keys.clone())
    expected, _ = torch.sort(keys, dim=1, descending=True)
    assert order.dtype == torch.int64 and order.shape == keys.shape
    # sorted keys: the packed path returns ~key, which orders and ties exactly as the keys
    read_back = torch.gather(keys, 1, order)
    assert torch.equal(read_back, expected)
    assert torch.equal(vals[:, :-1] == vals[:, 1:], expected[:, :-1] == expected[:, 1:])
    assert all(sorted(row.tolist()) == list(range(300)) for row in order)
