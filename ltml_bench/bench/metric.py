"""Per-class AP against scikit-learn (`ap_speedup_vs_sklearn`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ltml_bench.bench.timing import best_of, sync

AP_SHAPE = (5000, 80)


def bench_ap(repeats: int = 3, seed: int = 0, device: Any = None) -> dict[str, Any]:
    """Our AP against scikit-learn on 5,000 x 80 scores rounded to 2 decimals (many ties)."""
    import torch
    from sklearn.metrics import average_precision_score

    from ltml_bench.metrics import average_precision

    rng = np.random.default_rng(seed)
    n, c = AP_SHAPE
    scores = np.round(rng.normal(size=(n, c)), 2).astype(np.float32)
    prevalence = np.geomspace(0.3, 0.002, c)  # long-tailed: common to rare classes
    targets = (rng.random((n, c)) < prevalence).astype(np.int64)
    targets[0] = 1  # every class has a positive
    scores_t, targets_t = torch.from_numpy(scores), torch.from_numpy(targets)

    def sklearn_ap() -> np.ndarray:
        return np.array([average_precision_score(targets[:, k], scores[:, k]) for k in range(c)])

    ref = sklearn_ap()
    ours = average_precision(scores_t, targets_t).cpu().numpy()
    t_sk = best_of(sklearn_ap, repeats)
    t_ours = best_of(lambda: average_precision(scores_t, targets_t), max(3, repeats * 2))
    result = {
        "ap_shape": [n, c],
        "ap_sklearn_ms": round(t_sk * 1e3, 2),
        "ap_ours_ms": round(t_ours * 1e3, 2),
        "ap_speedup_vs_sklearn": round(t_sk / t_ours, 2),
        "ap_max_abs_diff": float(np.max(np.abs(ours - ref))),
    }
    if device is not None and device.type == "cuda":  # the torch path, on the GPU
        s_gpu, y_gpu = scores_t.to(device), targets_t.to(device)

        def on_gpu() -> None:
            average_precision(s_gpu, y_gpu)
            sync(device)

        on_gpu()
        result["ap_cuda_ms"] = round(best_of(on_gpu, max(3, repeats * 2)) * 1e3, 2)
        result["ap_cuda_max_abs_diff"] = float(np.max(np.abs(average_precision(s_gpu, y_gpu).cpu().numpy() - ref)))
    return result
