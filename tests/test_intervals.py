"""Bootstrap intervals and significance tests against independent references: scikit-learn's
`average_precision_score` with `sample_weight` on the same resamples, scipy's t-tests and Friedman
test, Holm and Demšar's published Nemenyi values by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import average_precision_score

from ltml_bench.metrics.intervals import (
    BootstrapSettings,
    group_maps,
    method_interval,
    percentile_interval,
    resample_counts,
    resampled_group_maps,
    run_intervals,
    two_level_replicates,
)
from ltml_bench.metrics.significance import cliques, friedman, holm, nemenyi_critical_difference, paired_difference

GROUPS = {"head": [0, 1], "middle": [2, 3], "tail": [4]}


def _toy(n: int = 60, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.random((n, 5)) < np.array([0.5, 0.4, 0.3, 0.2, 0.08])
    y[0] = True
    s = np.round(rng.normal(size=(n, 5)) + 1.2 * y, 1).astype(np.float32)  # 1 decimal: many tied scores
    return s, y


def _sklearn_ap(s: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    out = np.full((len(counts), s.shape[1]), np.nan)
    for r, w in enumerate(counts):
        for k in range(s.shape[1]):
            if (y[:, k] & (w > 0)).any():
                out[r, k] = average_precision_score(y[:, k], s[:, k], sample_weight=w)
    return out


def test_resample_counts_are_draws_with_replacement_fixed_by_seed() -> None:
    counts = resample_counts(50, 30, seed=3)
    assert counts.shape == (30, 50) and counts.dtype == np.int32
    assert (counts.sum(axis=1) == 50).all() and (counts >= 0).all()
    assert (counts == resample_counts(50, 30, seed=3)).all()
    assert (counts != resample_counts(50, 30, seed=4)).any()
    assert 0.5 < (counts > 0).mean() < 0.75  # about 1 - 1/e of the images appear in a resample
    with pytest.raises(ValueError):
        resample_counts(0, 10)


def test_group_maps_is_the_nan_aware_mean_in_percent() -> None:
    ap = np.array([[0.5, 1.0, np.nan, 0.25, 0.1], [np.nan, np.nan, np.nan, np.nan, np.nan]])
    maps = group_maps(ap, GROUPS)
    assert maps["head"][0] == pytest.approx(75.0) and maps["middle"][0] == pytest.approx(25.0)
    assert maps["tail"][0] == pytest.approx(10.0) and maps["all"][0] == pytest.approx(100 * 1.85 / 4)
    assert all(math.isnan(maps[g][1]) for g in maps)
    assert math.isnan(group_maps(ap, {"head": [], "middle": [0], "tail": [1]})["head"][0])


def test_resampled_maps_match_sklearn_with_sample_weight() -> None:
    s, y = _toy()
    counts = resample_counts(len(y), 25, seed=1)
    reference = group_maps(_sklearn_ap(s, y, counts), GROUPS)
    ours = resampled_group_maps(s, y, GROUPS, counts)
    for g in ("head", "middle", "tail", "all"):
        np.testing.assert_allclose(ours[g], reference[g], rtol=0, atol=1e-9, equal_nan=True)


def test_run_intervals_are_the_percentiles_of_the_sklearn_resamples() -> None:
    s, y = _toy(80, seed=2)
    settings = BootstrapSettings(resamples=40, level=0.9, seed=5)
    entry = run_intervals(s, y, GROUPS, settings)
    reference = group_maps(_sklearn_ap(s, y, resample_counts(80, 40, seed=5)), GROUPS)
    full = group_maps(_sklearn_ap(s, y, np.ones((1, 80))), GROUPS)
    assert entry["resamples"] == 40 and entry["level"] == 0.9 and entry["seed"] == 5
    for g in ("head", "middle", "tail", "all"):
        finite = reference[g][np.isfinite(reference[g])]
        share = (np.sum(finite < full[g][0]) + 0.5 * np.sum(finite == full[g][0])) / finite.size
        z0 = stats.norm.ppf(np.clip(share, 0.5 / finite.size, 1 - 0.5 / finite.size))  # Efron's bias correction
        low, high = np.quantile(finite, stats.norm.cdf(2 * z0 + stats.norm.ppf([0.05, 0.95])))
        assert entry["map"][g] == pytest.approx([low, high], abs=1e-9)


def test_percentile_interval_edges_and_settings() -> None:
    assert percentile_interval(np.array([np.nan, np.nan])) == (None, None)
    assert percentile_interval(np.arange(101.0), 0.9) == pytest.approx((5.0, 95.0))
    assert percentile_interval(np.arange(101.0), 0.9, estimate=50.0) == pytest.approx((5.0, 95.0))  # no bias: plain
    low, high = percentile_interval(np.arange(101.0), 0.9, estimate=30.0)  # replicates above the estimate: shifted down
    assert low < 5.0 and high < 95.0
    for bad in ({"resamples": -1}, {"level": 1.0}, {"level": 0.0}):
        with pytest.raises(ValueError):
            BootstrapSettings(**bad)


def test_two_level_replicates_draw_seeds_then_read_the_same_image_resample() -> None:
    per_seed = np.array([[1.0, 2.0, 3.0, 4.0], [11.0, 12.0, 13.0, 14.0], [21.0, 22.0, 23.0, 24.0]])
    replicates = two_level_replicates(per_seed, seed=0)
    picks = np.random.default_rng(1).integers(0, 3, size=(4, 3))  # the documented draw: seed + 1
    expected = [per_seed[picks[r], r].mean() for r in range(4)]
    np.testing.assert_allclose(replicates, expected)
    np.testing.assert_array_equal(two_level_replicates(per_seed[:1]), per_seed[0])
    rng = np.random.default_rng(0)
    wide = rng.normal(size=(4, 1)) * 5 + rng.normal(size=(4, 2000))
    images_only = percentile_interval(wide.mean(axis=0))
    both = method_interval(wide)
    assert both[1] - both[0] > images_only[1] - images_only[0]  # seed variance widens it


def test_paired_difference_without_image_noise_is_the_paired_t_test() -> None:
    a = {0: 60.0, 1: 62.5, 2: 61.0, 3: 64.0}
    b = {0: 58.0, 1: 61.0, 2: 60.5, 3: 60.0}
    flat = lambda points: np.repeat(np.array([points[s] for s in sorted(points)])[:, None], 30, axis=1)  # noqa: E731
    d = paired_difference(a, b, flat(a), flat(b))
    reference = stats.ttest_rel(list(a.values()), list(b.values()))
    assert d.seeds == "paired" and d.df == pytest.approx(3)
    assert d.estimate == pytest.approx(np.mean(list(a.values())) - np.mean(list(b.values())))
    assert d.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    ci = reference.confidence_interval(0.95)
    assert (d.low, d.high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_paired_difference_on_other_seeds_is_welch() -> None:
    a = {0: 60.0, 1: 62.5, 2: 61.0}
    b = {3: 58.0, 4: 61.0, 5: 60.5, 6: 57.0}
    flat = lambda points: np.repeat(np.array([points[s] for s in sorted(points)])[:, None], 30, axis=1)  # noqa: E731
    d = paired_difference(a, b, flat(a), flat(b))
    reference = stats.ttest_ind(list(a.values()), list(b.values()), equal_var=False)
    assert d.seeds == "welch"
    assert d.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert d.df == pytest.approx(reference.df, rel=1e-9)


def test_paired_difference_adds_the_image_variance_and_handles_single_seeds() -> None:
    rng = np.random.default_rng(0)
    shared = rng.normal(size=500)  # the test sample moves both methods alike: it cancels in the difference
    a_res = 60 + shared[None, :] + 0.3 * rng.normal(size=(1, 500))
    b_res = 59 + shared[None, :] + 0.3 * rng.normal(size=(1, 500))
    d = paired_difference({0: 60.0}, {0: 59.0}, a_res, b_res)
    assert d.seeds == "not estimable" and d.se_seeds == 0.0
    assert d.se_images == pytest.approx(np.std(a_res[0] - b_res[0], ddof=1))
    assert d.se_images < 0.5 < np.std(a_res[0])
    assert d.low < 1.0 < d.high and d.p_value < 0.05
    same = paired_difference({0: 1.0}, {0: 1.0}, np.ones((1, 5)), np.ones((1, 5)))
    assert same.estimate == 0.0 and same.p_value == 1.0
    missing = paired_difference({0: None}, {0: 1.0}, np.full((1, 5), np.nan), np.ones((1, 5)))
    assert missing.estimate is None and missing.p_value is None


def test_holm_by_hand() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, None, 0.01]) == [pytest.approx(0.5), None, pytest.approx(0.02)]
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])  # 2 x 0.8 capped at 1; the step-down keeps it
    assert holm([0.02, 0.6]) == pytest.approx([0.04, 0.6])


def test_friedman_matches_scipy_and_nemenyi_matches_demsar() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(6, 4)) + np.array([0.0, 0.5, 1.0, 1.5])
    result = friedman(scores, ["a", "b", "c", "d"])
    reference = stats.friedmanchisquare(*scores.T)
    assert result.chi2 == pytest.approx(reference.statistic) and result.p_chi2 == pytest.approx(reference.pvalue)
    assert result.average_ranks == pytest.approx(list(stats.rankdata(-scores, axis=1).mean(axis=0)))
    f = (6 - 1) * result.chi2 / (6 * 3 - result.chi2)  # Iman-Davenport
    assert result.f == pytest.approx(f) and result.p_f == pytest.approx(stats.f.sf(f, 3, 15))
    # Demšar (2006), Table 5(a): q_0.05 for k = 2, 3, 4, 5, 10
    for k, q in ((2, 1.960), (3, 2.343), (4, 2.569), (5, 2.728), (10, 3.164)):
        assert nemenyi_critical_difference(k, 1) / math.sqrt(k * (k + 1) / 6) == pytest.approx(q, abs=1e-3)
    assert result.critical_difference == pytest.approx(2.569 * math.sqrt(4 * 5 / 36), abs=1e-3)
    with pytest.raises(ValueError):
        friedman(scores[:1], ["a", "b", "c", "d"])


def test_cliques_join_methods_closer_than_the_critical_difference() -> None:
    assert cliques([1.0, 1.5, 3.0, 3.2], 1.0) == [(0, 1), (2, 3)]
    assert cliques([1.0, 2.0, 3.0], 5.0) == [(0, 2)]
    assert cliques([1.0, 3.0, 5.0], 1.0) == []
