"""Bootstrap intervals of group mAP: resampling test images, and over seeds then images.

One run: the test images are resampled `resamples` times with replacement. A resample is a row of
integer counts [N] (how often each image was drawn), so every resample's per-class AP comes from
one sort of each class's scores (`average_precision(..., sample_weight=counts)`): a [R, C] matrix,
then group means ([R] per group) and bias-corrected percentile intervals.

A method (several seeds): a two-level bootstrap. Every run of a dataset is evaluated on the SAME
image resamples (the counts depend only on the number of test images and the bootstrap seed), so
`M[s, r]` is seed s's group mAP on resample r. Replicate r draws S seeds with replacement, then
reads their values on image resample r: `T_r = mean_j M[seed_rj, r]`. The percentile interval of
T (bias-corrected towards the mean over seeds) includes the training-seed variance and the
test-sample variance.

Everything here is numpy (and the package's AP); significance tests live in `significance.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Mapping, Sequence

import numpy as np

from ltml_bench.metrics.ap import average_precision

DEFAULT_RESAMPLES = 1000
DEFAULT_LEVEL = 0.95
DEFAULT_BOOTSTRAP_SEED = 0
INTERVAL_GROUPS = ("head", "middle", "tail", "all")


def check_settings(resamples: int, level: float) -> None:
    """ValueError (one line) unless resamples >= 0 and 0 < level < 1."""
    if resamples < 0:
        raise ValueError(f"bootstrap_resamples={resamples}: must be >= 0 (0 turns intervals off)")
    if not 0.0 < level < 1.0:
        raise ValueError(f"ci_level={level}: must be between 0 and 1, e.g. 0.95")


def resample_counts(num_images: int, resamples: int, seed: int = DEFAULT_BOOTSTRAP_SEED) -> np.ndarray:
    """[resamples, num_images] int32 counts: row r says how often each test image is drawn in
    bootstrap resample r (N draws with replacement). A function of (num_images, resamples, seed)
    only, so two runs on the same test split get the same resamples (the pairing of `compare`)."""
    if num_images < 1 or resamples < 1:
        raise ValueError(f"need at least one image and one resample (got {num_images} images, {resamples} resamples)")
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, num_images, size=(resamples, num_images))
    flat = (draws + (np.arange(resamples) * num_images)[:, None]).ravel()
    return np.bincount(flat, minlength=resamples * num_images).reshape(resamples, num_images).astype(np.int32)


def group_maps(ap: np.ndarray, groups: Mapping[str, Sequence[int]]) -> dict[str, np.ndarray]:
    """Group mAP in percent from per-class AP [..., C] (NaN = undefined, left out of the mean):
    one array [...] per group of `groups` and for "all". NaN where a group has no defined AP."""
    ap = np.asarray(ap, dtype=np.float64)
    out: dict[str, np.ndarray] = {}
    selections = {name: list(groups[name]) for name in groups}
    selections["all"] = list(range(ap.shape[-1]))
    for name, index in selections.items():
        part = ap[..., index] if index else np.full(ap.shape[:-1] + (0,), np.nan)
        defined = np.isfinite(part)
        count = defined.sum(axis=-1)
        total = np.where(defined, part, 0.0).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(count > 0, 100.0 * total / np.maximum(count, 1), np.nan)
    return out


def resampled_group_maps(scores: Any, targets: Any, groups: Mapping[str, Sequence[int]], counts: np.ndarray) -> dict[str, np.ndarray]:
    """Group mAP (percent) on each resample of `counts` [R, N]: one array [R] per group and "all"."""
    ap = np.asarray(average_precision(scores, targets, sample_weight=counts).cpu().numpy(), dtype=np.float64)
    return group_maps(ap, groups)


def percentile_interval(values: np.ndarray, level: float = DEFAULT_LEVEL, estimate: float | None = None) -> tuple[float | None, float | None]:
    """The percentile interval of the finite bootstrap `values` (None, None if there are none).

    Without `estimate`: the (1 - level) / 2 and (1 + level) / 2 quantiles. With the estimate on
    the full sample: the bias-corrected percentile interval (Efron 1981), quantiles
    Phi(2 z0 -+ z_{(1 + level) / 2}) with z0 = Phi^-1(share of values below the estimate, ties
    counted half). AP on a resample with repeated images is biased upwards; the correction
    recentres the interval on the estimate (see docs/protocol.md, "Uncertainty and significance").
    """
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None, None
    low_q, high_q = (1.0 - level) / 2.0, (1.0 + level) / 2.0
    if estimate is not None and np.isfinite(estimate):
        normal = NormalDist()
        n = finite.size
        below = (np.count_nonzero(finite < estimate) + 0.5 * np.count_nonzero(finite == estimate)) / n
        z0 = normal.inv_cdf(min(max(below, 0.5 / n), 1.0 - 0.5 / n))
        z = normal.inv_cdf(high_q)
        low_q, high_q = normal.cdf(2.0 * z0 - z), normal.cdf(2.0 * z0 + z)
    low, high = np.quantile(finite, [low_q, high_q])
    return float(low), float(high)


@dataclass(frozen=True)
class BootstrapSettings:
    """How many image resamples, the interval level, and the seed of the resamples."""

    resamples: int = DEFAULT_RESAMPLES
    level: float = DEFAULT_LEVEL
    seed: int = DEFAULT_BOOTSTRAP_SEED

    def __post_init__(self) -> None:
        check_settings(self.resamples, self.level)

    def describe(self) -> dict[str, Any]:
        return {"method": "bias-corrected percentile bootstrap over test images", "resamples": self.resamples, "level": self.level,
                "seed": self.seed}


def run_intervals(scores: Any, targets: Any, groups: Mapping[str, Sequence[int]],
                  settings: BootstrapSettings = BootstrapSettings()) -> dict[str, Any]:
    """A run's record entry: the settings and {group: [low, high]} (percent) for head, middle,
    tail and all; a group whose mAP is undefined on every resample gets [None, None]."""
    n = int(targets.shape[0]) if hasattr(targets, "shape") else len(targets)
    counts = resample_counts(n, settings.resamples, settings.seed)
    # the full test set (every count 1) rides along as one more row: the estimate the correction centres on
    maps = resampled_group_maps(scores, targets, groups, np.vstack([counts, np.ones((1, n), dtype=counts.dtype)]))
    entry = settings.describe()
    entry["map"] = {name: list(percentile_interval(maps[name][:-1], settings.level, float(maps[name][-1])))
                    for name in INTERVAL_GROUPS}
    return entry


def two_level_replicates(per_seed: np.ndarray, seed: int = DEFAULT_BOOTSTRAP_SEED) -> np.ndarray:
    """Replicates [R] of the mean over seeds from `per_seed` [S, R] (seed s's statistic on image
    resample r): replicate r draws S seeds with replacement and averages their values on resample r.
    NaN entries (undefined on that resample) are left out of the mean."""
    values = np.asarray(per_seed, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] < 1:
        raise ValueError(f"per_seed must be [seeds, resamples], got shape {values.shape}")
    s, r = values.shape
    if s == 1:
        return values[0].copy()
    picks = np.random.default_rng(seed + 1).integers(0, s, size=(r, s))
    drawn = values[picks, np.arange(r)[:, None]]
    defined = np.isfinite(drawn)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(defined.any(axis=1), np.where(defined, drawn, 0.0).sum(axis=1) / np.maximum(defined.sum(axis=1), 1), np.nan)


def method_interval(per_seed: np.ndarray, level: float = DEFAULT_LEVEL, seed: int = DEFAULT_BOOTSTRAP_SEED,
                    estimate: float | None = None) -> tuple[float | None, float | None]:
    """The two-level (seeds, then images) percentile interval of a method's mean over seeds;
    bias-corrected towards `estimate` (the mean over seeds on the full test set) when given."""
    return percentile_interval(two_level_replicates(per_seed, seed), level, estimate)
