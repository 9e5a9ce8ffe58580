"""Bootstrap intervals of one run against a plain loop of scikit-learn calls (`intervals_speedup_vs_sklearn`).

Ours: `metrics.intervals.run_intervals` on a COCO-sized run (5,000 images x 80 classes, 1,000
resamples; `--quick`: 1,000 x 20 x 100): draw the resample counts, per-class AP on every resample
from one sort per class, group means, percentiles. The plain loop: `average_precision_score(y, s,
sample_weight=counts_r)` for every class and resample. The loop is linear in the resamples, so it
is timed on the first 10 (`--quick`: 3) of the same resamples and scaled to all of them
(`intervals_sklearn_seconds` says "estimated"); `intervals_max_abs_diff` compares the two on
those resamples.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from ltml_bench.bench.timing import best_of

INTERVALS_SHAPE = (5000, 80, 1000)  # images, classes, resamples
QUICK_SHAPE = (1000, 20, 100)


def bench_intervals(quick: bool = False, seed: int = 0, loop_resamples: int | None = None) -> dict[str, Any]:
    """Ours against the scikit-learn loop; the loop is timed on `loop_resamples` resamples (default
    10, 3 under `--quick`) and scaled to all of them."""
    from sklearn.metrics import average_precision_score

    from ltml_bench.metrics.ap import average_precision
    from ltml_bench.metrics.intervals import BootstrapSettings, resample_counts, run_intervals

    n, c, r = QUICK_SHAPE if quick else INTERVALS_SHAPE
    rng = np.random.default_rng(seed)
    prevalence = np.geomspace(0.3, 0.002, c)
    targets = rng.random((n, c)) < prevalence
    targets[0] = True
    scores = np.round(rng.normal(size=(n, c)) + 1.5 * targets, 2).astype(np.float32)  # ties, as in bench_ap
    groups = {"head": list(range(c // 3)), "middle": list(range(c // 3, 2 * c // 3)), "tail": list(range(2 * c // 3, c))}
    settings = BootstrapSettings(r, 0.95, seed)
    run_intervals(scores[:50], targets[:50], groups, BootstrapSettings(2, 0.95, seed))  # warm-up: imports, first calls
    t_ours = best_of(lambda: run_intervals(scores, targets, groups, settings), 1 if quick else 2)

    counts = resample_counts(n, r, seed)[: loop_resamples or (3 if quick else 10)]

    def sklearn_loop() -> np.ndarray:
        with warnings.catch_warnings():  # a rare class may draw no positive in a resample (ours: NaN, left out)
            warnings.simplefilter("ignore")
            return np.array([[average_precision_score(targets[:, k], scores[:, k], sample_weight=w) for k in range(c)] for w in counts])

    started = time.perf_counter()
    reference = sklearn_loop()
    t_loop = (time.perf_counter() - started) * r / len(counts)
    ours = average_precision(scores, targets, sample_weight=counts).cpu().numpy()
    defined = np.isfinite(ours)
    return {
        "intervals_shape": [n, c, r],
        "intervals_ours_seconds": round(t_ours, 3),
        "intervals_sklearn_seconds": round(t_loop, 2),
        "intervals_sklearn_estimated_from_resamples": len(counts),
        "intervals_speedup_vs_sklearn": round(t_loop / t_ours, 1),
        "intervals_max_abs_diff": float(np.max(np.abs(ours[defined] - reference[defined]))),
    }
