"""Per-class AP at every scale (`ap_scaling`): ours, scikit-learn, torchmetrics, and the sort floor.

For each images x classes size, on the same float32 scores (continuous, so ties are rare) and
long-tailed targets (every class has a positive), in one process:

- `ours_s`: `ltml_bench.metrics.average_precision` (on the CPU; `ours_cuda_s` on a GPU too);
- `sklearn_s`: `sklearn.metrics.average_precision_score(targets, scores, average=None)`, which
  scores the classes column by column;
- `torchmetrics_s`: `torchmetrics.functional.classification.multilabel_average_precision`
  (`average=None`, exact thresholds, `validate_args=False`), when torchmetrics is importable;
- `sort_s`: the floor, the cheaper of `torch.sort(scores, dim=0)` and `torch.sort` of the
  transposed copy along its rows (the copy's time included): the one sort any exact AP needs;
- the ratios, the largest |difference| of ours (and torchmetrics) from scikit-learn, and the
  peak memory of one call of ours beyond the inputs, over the size of the score matrix.

Each time is the best of up to 3 calls (1 when a call takes over `_ONE_CALL_S` seconds).
Memory on the CPU is measured in a fresh Python process (`_memory_probe`): glibc is told to serve
every allocation above 128 KiB by mmap and to hand it back on free (`mallopt`), so the resident set
follows the live tensors; a thread samples the process's resident set (/proc/self/statm) every
0.5 ms during one call, and the peak less the resident set just before the call is the extra
memory. On CUDA it is `torch.cuda.max_memory_allocated` during the call less the memory allocated
before it (exact).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from typing import Any, Callable

import numpy as np

from ltml_bench.bench.timing import sync

SIZES = ((5000, 80), (20000, 200), (50000, 1203), (100000, 80))
_ONE_CALL_S = 1.0


def scaling_sizes(quick: bool, full: bool) -> list[tuple[int, int]]:
    """--quick: the two smallest; default: the first three; --full: all four."""
    return list(SIZES[:2] if quick else SIZES if full else SIZES[:3])


def scaling_inputs(n: int, c: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """float32 scores [n, c] (uniform, correlated with the targets) and bool long-tailed targets
    (prevalence 0.3 down to 1 / n; one image of each class is set positive)."""
    rng = np.random.default_rng(seed)
    prevalence = np.geomspace(0.3, min(0.3, 1.0 / n), c).astype(np.float32)
    targets = rng.random((n, c), dtype=np.float32) < prevalence
    targets[rng.integers(0, n, c), np.arange(c)] = True
    scores = rng.random((n, c), dtype=np.float32)
    scores += 0.5 * targets  # informative scores: AP well above the prevalence
    return scores, targets


def _best(fn: Callable[[], Any], device: Any = None) -> float:
    times: list[float] = []
    while len(times) < 3 and (not times or times[-1] < _ONE_CALL_S):
        t0 = time.perf_counter()
        fn()
        if device is not None:
            sync(device)
        times.append(time.perf_counter() - t0)
    return min(times)


def _sort_dim0(scores: Any) -> None:
    import torch

    torch.sort(scores, dim=0, descending=True)


def _sort_transposed(scores: Any) -> None:
    import torch

    torch.sort(scores.t().contiguous(), dim=1, descending=True)


def torchmetrics_ap() -> tuple[Callable[..., Any] | None, str]:
    """torchmetrics' multilabel AP and its version, or None and why it is skipped."""
    try:
        import torchmetrics
        from torchmetrics.functional.classification import multilabel_average_precision
    except Exception as exc:  # absent or broken: the column is skipped with a note
        return None, f"skipped: torchmetrics not importable ({type(exc).__name__}); pip install '.[bench]'"
    return multilabel_average_precision, str(torchmetrics.__version__)


def bench_ap_size(n: int, c: int, device: Any = None, memory: bool = True, seed: int = 0) -> dict[str, Any]:
    """One row of the scaling table (see the module docstring)."""
    import torch
    from sklearn.metrics import average_precision_score

    from ltml_bench.metrics import average_precision

    scores, targets = scaling_inputs(n, c, seed)
    s, y = torch.from_numpy(scores), torch.from_numpy(targets)
    ref = average_precision_score(targets, scores, average=None)
    ours = average_precision(s, y).numpy()
    row: dict[str, Any] = {"images": n, "classes": c, "score_matrix_mb": round(scores.nbytes / 2**20, 1)}
    row["ours_s"] = _best(lambda: average_precision(s, y))
    row["sort_dim0_s"] = _best(lambda: _sort_dim0(s))
    row["sort_transposed_s"] = _best(lambda: _sort_transposed(s))
    row["sort_s"] = min(row["sort_dim0_s"], row["sort_transposed_s"])
    row["sklearn_s"] = _best(lambda: average_precision_score(targets, scores, average=None))
    row["max_abs_diff"] = float(np.max(np.abs(ours - ref)))
    tm_ap, _ = torchmetrics_ap()
    if tm_ap is not None:
        def tm() -> Any:
            return tm_ap(s, y, num_labels=c, average=None, thresholds=None, validate_args=False)

        row["torchmetrics_max_abs_diff"] = float(np.max(np.abs(tm().double().numpy() - ref)))
        row["torchmetrics_s"] = _best(tm)
        row["torchmetrics_over_ours"] = round(row["torchmetrics_s"] / row["ours_s"], 2)
    row["sklearn_over_ours"] = round(row["sklearn_s"] / row["ours_s"], 2)
    row["ours_over_sort"] = round(row["ours_s"] / row["sort_s"], 2)
    if memory:
        row.update(_memory_row(n, c, seed, scores.nbytes))
    if device is not None and device.type == "cuda":
        row.update(_cuda_row(s, y, ref, device))
    for key in [k for k in row if k.endswith("_s")]:
        row[key] = round(row[key], 6)
    return row


def _memory_row(n: int, c: int, seed: int, matrix_bytes: int) -> dict[str, Any]:
    """Peak extra memory of ours (and of the bare sort) in a fresh process, in MB and over the matrix."""
    import torch

    code = f"from ltml_bench.bench.ap_scaling import _memory_probe; _memory_probe({n}, {c}, {seed}, {torch.get_num_threads()})"
    try:
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=dict(os.environ))
        probe = json.loads(proc.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError, OSError) as exc:
        return {"memory_note": f"memory probe failed: {type(exc).__name__}"}
    return {
        "ours_peak_extra_mb": round(probe["ours"] / 2**20, 1),
        "ours_peak_extra_over_matrix": round(probe["ours"] / matrix_bytes, 2),
        "sort_peak_extra_over_matrix": round(probe["sort"] / matrix_bytes, 2),
    }


def _memory_probe(n: int, c: int, seed: int, threads: int) -> None:
    """Run in a fresh process: print {"ours": bytes, "sort": bytes}, each the peak resident set
    during one call less the resident set just before it."""
    import ctypes

    import torch

    from ltml_bench.metrics import average_precision

    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD fixed: large blocks are mmapped, unmapped on free
    libc.mallopt(-1, 128 * 1024)  # M_TRIM_THRESHOLD: the heap gives freed memory back
    torch.set_num_threads(threads)
    scores, targets = scaling_inputs(n, c, seed)
    s, y = torch.from_numpy(scores), torch.from_numpy(targets)
    average_precision(s[:50], y[:50])  # load the kernels' code before the baseline
    result = {"ours": _peak_rss_during(lambda: average_precision(s, y)),
              "sort": _peak_rss_during(lambda: torch.sort(s, dim=0, descending=True))}
    sys.stdout.write(json.dumps(result) + "\n")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_during(fn: Callable[[], Any]) -> int:
    baseline = _rss_bytes()
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.0005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = fn()
    peak[0] = max(peak[0], _rss_bytes())  # what is still held when the call returns
    done.set()
    sampler.join()
    del result
    return max(0, peak[0] - baseline)


def _cuda_row(s: Any, y: Any, ref: np.ndarray, device: Any) -> dict[str, Any]:
    import torch

    from ltml_bench.metrics import average_precision

    s_gpu, y_gpu = s.to(device), y.to(device)
    average_precision(s_gpu[:100], y_gpu[:100])
    sync(device)
    before = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    got = average_precision(s_gpu, y_gpu).cpu().numpy()
    extra = torch.cuda.max_memory_allocated(device) - before
    return {
        "ours_cuda_s": _best(lambda: average_precision(s_gpu, y_gpu), device),
        "sort_cuda_s": _best(lambda: torch.sort(s_gpu, dim=0, descending=True), device),
        "ours_cuda_max_abs_diff": float(np.max(np.abs(got - ref))),
        "ours_cuda_peak_extra_over_matrix": round(extra / (s.numel() * s.element_size()), 2),
    }


def bench_ap_scaling(quick: bool = False, full: bool = False, device: Any = None, memory: bool = True,
                     sizes: list[tuple[int, int]] | None = None, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """The scaling table: one row per size (`scaling_sizes`, or `sizes` when given)."""
    _, tm_note = torchmetrics_ap()
    rows = []
    for n, c in sizes or scaling_sizes(quick, full):
        log(f"  AP {n} x {c} ...")
        rows.append(bench_ap_size(n, c, device=device, memory=memory))
    return {
        "sizes": rows,
        "torchmetrics": tm_note,
        "scores": "float32 uniform + 0.5 on positives (continuous), long-tailed bool targets",
        "memory_method": "CPU: peak resident set during one call less the resident set before it, in a fresh"
                         " process with glibc mmap for blocks > 128 KiB; CUDA: max_memory_allocated less allocated before",
    }


def scaling_lines(table: dict[str, Any]) -> list[str]:
    """The table as text lines (for `ltml-bench bench`)."""
    has_tm = any("torchmetrics_s" in r for r in table["sizes"])
    head = "AP scaling  images x classes | ours s | sklearn s (x) | " + ("torchmetrics s (x) | " if has_tm else "") + \
        "sort s (ours/sort) | max|diff| | peak extra / matrix"
    lines = [head]
    for r in table["sizes"]:
        tm = f"{r['torchmetrics_s']:.3f} ({r['torchmetrics_over_ours']:.1f}x) | " if "torchmetrics_s" in r else ""
        mem = f"{r['ours_peak_extra_over_matrix']:.2f}" if "ours_peak_extra_over_matrix" in r else r.get("memory_note", "-")
        line = (f"  {r['images']:>7} x {r['classes']:<5} | {r['ours_s']:.3f} | {r['sklearn_s']:.3f} ({r['sklearn_over_ours']:.1f}x) | {tm}"
                f"{r['sort_s']:.3f} ({r['ours_over_sort']:.2f}) | {r['max_abs_diff']:.1e} | {mem}")
        if "ours_cuda_s" in r:
            line += f" | CUDA {r['ours_cuda_s'] * 1e3:.1f} ms (sort {r['sort_cuda_s'] * 1e3:.1f} ms)"
        lines.append(line)
    if not has_tm:
        lines.append(f"  torchmetrics {table['torchmetrics']}")
    return lines
