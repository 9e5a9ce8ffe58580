"""Significance of differences: a paired test of two methods' group mAP, Holm's correction, and
Friedman's test with Nemenyi's critical difference across datasets (Demšar 2006).

`paired_difference` tests D = mean over A's seeds - mean over B's seeds of one group's mAP. Its
variance has two parts, both estimated:

- the test sample: both methods are evaluated on the same bootstrap resamples of the test images.
  The variance of D over those resamples (all seeds kept) holds each run's own image noise (its
  diagonal over seeds) and the part the seeds share (images hard for all of A's models but not for
  B's). The seeds' spread below already holds the former, so with two or more seeds on a side
  only the shared part is added: var_r(D_r) - sum_s var_r(d_s) / S^2 (paired; else the same
  per method), floored at 0. With one seed on each side the whole var_r(D_r) is used;
- the training seeds: with the same seeds on both sides, the per-seed differences d_s = A_s - B_s
  give var(d) / S with S - 1 degrees of freedom (the pairing); with different seed sets, Welch's
  s_A^2 / S_A + s_B^2 / S_B with Welch-Satterthwaite degrees of freedom; with one seed on one side,
  the other side's seed variance stands for both; with one seed on each, it cannot be estimated
  (the test then covers the test sample only and says so).

The statistic D / sqrt(V_seed + V_images) is referred to Student's t with Satterthwaite's degrees
of freedom: with 3 or 4 seeds a plain bootstrap over seeds would understate the seed variance (by
(S - 1) / S) and lack the t tails, and reject a true null too often. The interval is
D +- t_{df, (1 + level) / 2} * sqrt(V), so it excludes 0 exactly when p < 1 - level.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np


@dataclass(frozen=True)
class Difference:
    """A - B in one group's mAP (percentage points), its interval, p-value and how it was made."""

    estimate: float | None
    low: float | None
    high: float | None
    p_value: float | None
    se: float | None
    se_seeds: float | None
    se_images: float | None
    df: float | None  # None when there is no variance at all (identical predictions)
    seeds: str  # "paired", "welch", "pooled" or "not estimable"
    n_a: int
    n_b: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _finite_mean(values: np.ndarray, axis: int = 0) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    defined = np.isfinite(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(defined.any(axis=axis), np.where(defined, values, 0.0).sum(axis=axis) / np.maximum(defined.sum(axis=axis), 1), np.nan)


def _seed_variance(a: dict[int, float], b: dict[int, float]) -> tuple[float, float, str]:
    """(variance of D from the seeds, its degrees of freedom, the kind) - see the module docstring."""
    if set(a) == set(b) and len(a) >= 2:
        d = np.array([a[s] - b[s] for s in sorted(a)])
        return float(np.var(d, ddof=1) / len(d)), float(len(d) - 1), "paired"
    na, nb = len(a), len(b)
    if na >= 2 and nb >= 2:
        va, vb = np.var(list(a.values()), ddof=1) / na, np.var(list(b.values()), ddof=1) / nb
        v = float(va + vb)
        df = v * v / (va * va / (na - 1) + vb * vb / (nb - 1)) if v > 0 else float(na + nb - 2)
        return v, float(df), "welch"
    if na >= 2 or nb >= 2:
        many = a if na >= 2 else b
        s2 = float(np.var(list(many.values()), ddof=1))
        return s2 * (1.0 / na + 1.0 / nb), float(len(many) - 1), "pooled"
    return 0.0, math.inf, "not estimable"


def _own_image_variance(a_res: np.ndarray, b_res: np.ndarray, paired: bool) -> float:
    """The part of var_r(mean A - mean B) that each run's own resampling noise contributes (the
    diagonal of its covariance over seeds): sum_s var_r(d_s) / S^2 when paired, else
    sum_s var_r(A_s) / S_A^2 + sum_s var_r(B_s) / S_B^2."""
    def own(rows: np.ndarray) -> float:
        variances = [np.var(r[np.isfinite(r)], ddof=1) for r in rows if np.isfinite(r).sum() > 1]
        return float(np.sum(variances)) / len(rows) ** 2 if variances else 0.0

    if paired:
        return own(a_res - b_res)
    return own(a_res) + own(b_res)


def paired_difference(a_points: dict[int, float | None], b_points: dict[int, float | None], a_resampled: np.ndarray,
                      b_resampled: np.ndarray, level: float = 0.95) -> Difference:
    """Test mean(A) - mean(B) of one group. `*_points`: seed -> the run's mAP on the full test set;
    `*_resampled`: [seeds, R] the same runs (rows in sorted seed order) on the shared image resamples."""
    from scipy import stats

    a = {s: float(v) for s, v in a_points.items() if v is not None and math.isfinite(v)}
    b = {s: float(v) for s, v in b_points.items() if v is not None and math.isfinite(v)}
    if not a or not b:
        return Difference(None, None, None, None, None, None, None, None, "not estimable", len(a), len(b))
    estimate = float(np.mean(list(a.values())) - np.mean(list(b.values())))
    a_res, b_res = np.asarray(a_resampled, dtype=np.float64), np.asarray(b_resampled, dtype=np.float64)
    replicates = _finite_mean(a_res, 0) - _finite_mean(b_res, 0)
    replicates = replicates[np.isfinite(replicates)]
    v_images = float(np.var(replicates, ddof=1)) if replicates.size > 1 else 0.0
    v_seeds, df_seeds, kind = _seed_variance(a, b)
    if kind != "not estimable":  # the seeds' spread already holds each run's own image noise: keep the shared part
        v_images = max(0.0, v_images - _own_image_variance(a_res, b_res, kind == "paired"))
    v = v_seeds + v_images
    if v <= 0.0:
        p = 1.0 if estimate == 0.0 else 0.0
        return Difference(estimate, estimate, estimate, p, 0.0, 0.0, 0.0, None, kind, len(a), len(b))
    df_images = max(replicates.size - 1, 1)
    df = v * v / ((v_seeds * v_seeds / df_seeds if math.isfinite(df_seeds) else 0.0) + v_images * v_images / df_images)
    se = math.sqrt(v)
    half = float(stats.t.ppf(0.5 + level / 2.0, df)) * se
    p = float(2.0 * stats.t.sf(abs(estimate) / se, df))
    return Difference(estimate, estimate - half, estimate + half, min(1.0, p), se, math.sqrt(v_seeds), math.sqrt(v_images),
                      float(df), kind, len(a), len(b))


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values (None stays None and does not count as a test)."""
    present = [(p, i) for i, p in enumerate(p_values) if p is not None]
    present.sort()
    m = len(present)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class Friedman:
    """Average ranks (1 = best) of k methods over N datasets, Friedman's chi-square and the
    Iman-Davenport F, their p-values, and Nemenyi's critical difference at `alpha`."""

    methods: list[str]
    average_ranks: list[float]
    n_datasets: int
    chi2: float
    p_chi2: float
    f: float
    p_f: float
    alpha: float
    critical_difference: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def nemenyi_critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """CD = q_alpha sqrt(k (k + 1) / (6 N)), q_alpha = the studentized range quantile (k, inf) / sqrt 2."""
    from scipy import stats

    if k < 2 or n < 1:
        raise ValueError(f"the critical difference needs k >= 2 methods and N >= 1 datasets (got k={k}, N={n})")
    q = float(stats.studentized_range.ppf(1.0 - alpha, k, np.inf)) / math.sqrt(2.0)
    return q * math.sqrt(k * (k + 1) / (6.0 * n))


def friedman(scores: np.ndarray, methods: Sequence[str], alpha: float = 0.05) -> Friedman:
    """Friedman's test on `scores` [N datasets, k methods] (higher is better; ties get mean ranks)."""
    from scipy import stats

    x = np.asarray(scores, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(methods) or x.shape[1] < 2 or x.shape[0] < 2 or not np.isfinite(x).all():
        raise ValueError(f"friedman needs finite scores [N >= 2 datasets, k >= 2 methods], got shape {x.shape}")
    n, k = x.shape
    ranks = stats.rankdata(-x, axis=1)
    average = ranks.mean(axis=0)
    chi2 = 12.0 * n / (k * (k + 1)) * (float(np.sum(average ** 2)) - k * (k + 1) ** 2 / 4.0)
    denominator = n * (k - 1) - chi2
    f = (n - 1) * chi2 / denominator if denominator > 1e-12 else math.inf
    p_f = float(stats.f.sf(f, k - 1, (k - 1) * (n - 1))) if math.isfinite(f) else 0.0
    return Friedman(list(methods), [float(r) for r in average], n, float(chi2), float(stats.chi2.sf(chi2, k - 1)),
                    float(f), p_f, alpha, nemenyi_critical_difference(k, n, alpha))


def cliques(average_ranks: Sequence[float], critical_difference: float) -> list[tuple[int, int]]:
    """Maximal runs (first, last positions in ascending-rank order) of at least two methods whose
    average ranks differ by less than the critical difference: the bars of a CD diagram."""
    ordered = sorted(average_ranks)
    runs: list[tuple[int, int]] = []
    for start in range(len(ordered)):
        end = start
        while end + 1 < len(ordered) and ordered[end + 1] - ordered[start] < critical_difference:
            end += 1
        if end > start and not any(a <= start and end <= b for a, b in runs):
            runs.append((start, end))
    return runs
