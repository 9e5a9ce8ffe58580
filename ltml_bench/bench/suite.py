"""`ltml-bench bench`: the project's speed, measured against plain baselines in one process.

Every ratio compares two implementations run side by side, in the same process, on the same
device, model, batch and data, so machine load affects both sides alike (each side is timed as the
best of a few repeats where it is cheap enough):

- `harness_vs_plain_loop`: training images/s of the real harness (`train_and_evaluate`, timed
  between two of its own progress callbacks, after warm-up steps, so model building, evaluation
  and the end-of-epoch checkpoint are left out; median of 2 runs interleaved with the plain
  loop's 2, 3 each without `--quick`) over a minimal PyTorch loop (forward, BCE,
  backward, gradient clipping as the recipe does, SGD step) on the same model and the same
  `TensorImages` batches. About 1.0 means the harness adds nothing measurable per step (its
  per-step extras: learning-rate schedule, finiteness check of the loss, progress callback).
- `pipeline_vs_torchvision`: images/s of `TensorImages.get_batch` (in-memory uint8, batched
  flip + pad-and-crop + normalise) over a plain torchvision loader on the same images held as PNG
  bytes in memory (PIL decode, RandomHorizontalFlip, RandomCrop with padding, ToTensor,
  Normalize, stack), both single process.
- `ap_speedup_vs_sklearn`: `ltml_bench.metrics.average_precision` on 5,000 x 80 float32 scores
  with ties over scikit-learn's `average_precision_score` column by column; `ap_max_abs_diff` is
  the largest difference of the two (ties make it a real test).
- `intervals_speedup_vs_sklearn`: a run's bootstrap intervals (`metrics.intervals.run_intervals`)
  for 5,000 images x 80 classes x 1,000 resamples (`--quick`: 1,000 x 20 x 100) over a loop of
  scikit-learn `average_precision_score(..., sample_weight=counts)` calls, class by class and
  resample by resample (timed on 10 resamples, 3 with `--quick`, and scaled: the loop is linear);
  `intervals_ours_seconds` is the time of ours.
- `ap_scaling`: the AP table at every scale (`ltml_bench.bench.ap_scaling`): ours, scikit-learn
  and torchmetrics (when importable) against `torch.sort` of the same matrix, with the largest
  difference from scikit-learn and the peak extra memory; sizes 5,000 x 80 and 20,000 x 200
  (`--quick`), plus 50,000 x 1,203 (default), plus 100,000 x 80 (`--full`).
- `peak_memory_mb`: CUDA max allocated on a GPU, else the process's max RSS.
- `default_run_seconds` (without `--quick`): a figure, not a ratio: the wall time of
  `ltml-bench run` with no options (HMT-Net on synth_lt with its full recipe) in a fresh process,
  the embedded dataset already generated, as the README quotes it. It depends on the machine and
  its load, which is why no test asserts it.

On CUDA (without `--quick`) it also times ResNet-50 at 224 px with the recipe's frozen stem and
layer1 (BatchNorm frozen), at batch 32 and at the largest batch that fits (doubling from 32 until
out of memory, capped at 1,024), through the plain loop and the harness.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from ltml_bench.bench.ap_scaling import bench_ap_scaling, scaling_lines
from ltml_bench.bench.inputs import bench_image_pipeline, bench_pipeline
from ltml_bench.bench.intervals import bench_intervals
from ltml_bench.bench.metric import bench_ap
from ltml_bench.bench.timing import device_label, peak_memory_mb
from ltml_bench.bench.training import bench_resnet50_cuda, bench_training


def run_bench(quick: bool = False, device_name: str = "auto", threads: int = 0, log: Callable[[str], None] = lambda line: None,
              full: bool = False) -> dict[str, Any]:
    """All measurements; `threads` > 0 sets torch's CPU threads for both sides of every ratio;
    `full` adds the largest AP size."""
    import torch

    from ltml_bench._version import __version__
    from ltml_bench.training.devices import resolve_device

    if threads > 0:
        torch.set_num_threads(threads)
    device = resolve_device(device_name)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = time.perf_counter()
    dev, name = device_label(device)
    record: dict[str, Any] = {
        "device": dev,
        "device_name": name,
        "quick": quick,
        "full": full,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "ltml_bench": __version__,
        "timestamp": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    log("average precision vs scikit-learn ...")
    record.update(bench_ap(repeats=2 if quick else 5, device=device))
    log("bootstrap intervals (images x classes x resamples) vs a loop of scikit-learn calls ...")
    record.update(bench_intervals(quick=quick))
    log("average precision at every scale vs scikit-learn, torchmetrics and torch.sort ...")
    record["ap_scaling"] = bench_ap_scaling(quick=quick, full=full, device=device, log=log)
    log("input pipeline (JPEGs, recipe augmentation, 224 px) vs torchvision ...")
    record.update(bench_image_pipeline(num_images=64 if quick else 256, batch_size=32, repeats=1 if quick else 2, device=device))
    log("in-memory TensorImages (synth_lt) vs torchvision ...")
    record["tensor_pipeline_32"] = bench_pipeline(num_images=256 if quick else 2048, size=32, batch_size=32, repeats=2 if quick else 3)
    log("training step: harness vs plain loop ...")
    steps, warmup, repeats = (10, 3, 2) if quick else (80, 10, 3)
    record.update(bench_training("ltml_cifar_resnet_small", 32, 32, steps, warmup, str(device), settings={"neck_dim": 16}, repeats=repeats))
    if device.type == "cuda" and not quick:
        log("ResNet-50 at 224 px ...")
        record.update(bench_resnet50_cuda(str(device)))
    if not quick:
        log("the default run (ltml-bench run, no options) ...")
        record.update(bench_default_run(threads))
    record["peak_memory_mb"] = peak_memory_mb(device)
    record["peak_memory_kind"] = "cuda_max_allocated" if device.type == "cuda" else "process_max_rss"
    record["bench_seconds"] = round(time.perf_counter() - started, 1)
    return record


def bench_default_run(threads: int = 0) -> dict[str, Any]:
    """Wall time of `ltml-bench run` with no options in a subprocess (synth_lt generated first)."""
    import json
    import subprocess
    import sys
    import tempfile

    from ltml_bench.registry import get_dataset

    get_dataset("synth_lt").build()  # generated and cached once: the README's figure excludes it
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads > 0 else {}))
    with tempfile.TemporaryDirectory(prefix="ltml-bench-default-run-") as runs:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "ltml_bench", "run", "--out", runs, "--json"],
                              capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - started
    if proc.returncode != 0:
        return {"default_run_seconds": None, "default_run_error": proc.stderr.strip().splitlines()[-1:]}
    result = json.loads(proc.stdout)
    return {"default_run_seconds": round(seconds, 1), "default_run_map_all": result["map"]["all"]}


def record_path(out_dir: Path, record: dict[str, Any]) -> Path:
    slug = "".join(ch if ch.isalnum() else "-" for ch in f"{record['device']}-{record['device_name']}").strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    stamp = record["timestamp"].replace("-", "").replace(":", "")
    return Path(out_dir) / f"{slug[:60]}-{stamp}.json"


def summary_lines(record: dict[str, Any]) -> list[str]:
    lines = [
        f"device: {record['device']} ({record['device_name']}), torch threads {record['torch_threads']}",
        f"training   harness {record['harness_images_per_s']:.0f} img/s vs plain loop {record['plain_loop_images_per_s']:.0f} img/s"
        f"  -> harness_vs_plain_loop {record['harness_vs_plain_loop']:.2f}",
        f"pipeline   image store {record['pipeline_ours_images_per_s']:.0f} img/s vs torchvision {record['pipeline_torchvision_images_per_s']:.0f} img/s"
        f"  -> pipeline_vs_torchvision {record['pipeline_vs_torchvision']:.1f}x (per-image decode {record['pipeline_uncached_images_per_s']:.0f} img/s;"
        f" {record['pipeline_source']})",
        f"synth_lt   TensorImages {record['tensor_pipeline_32']['ours_images_per_s']:.0f} img/s vs torchvision"
        f" {record['tensor_pipeline_32']['torchvision_images_per_s']:.0f} img/s -> {record['tensor_pipeline_32']['vs_torchvision']:.1f}x",
        f"AP 5000x80 ours {record['ap_ours_ms']:.1f} ms vs sklearn {record['ap_sklearn_ms']:.1f} ms"
        f"  -> ap_speedup_vs_sklearn {record['ap_speedup_vs_sklearn']:.1f}x (max |diff| {record['ap_max_abs_diff']:.1e})",
        *([f"intervals {'x'.join(map(str, record['intervals_shape']))} ours {record['intervals_ours_seconds']:.2f} s vs sklearn loop"
        f" {record['intervals_sklearn_seconds']:.1f} s (estimated from {record['intervals_sklearn_estimated_from_resamples']} resamples)"
        f"  -> intervals_speedup_vs_sklearn {record['intervals_speedup_vs_sklearn']:.0f}x (max |diff| {record['intervals_max_abs_diff']:.1e})"] if "intervals_shape" in record else []),
        *(scaling_lines(record["ap_scaling"]) if "ap_scaling" in record else []),
        f"peak memory {record['peak_memory_mb']:.0f} MB ({record['peak_memory_kind']}); took {record['bench_seconds']:.0f} s",
    ]
    if record.get("default_run_seconds") is not None:
        lines.append(f"default run (ltml-bench run, HMT-Net on synth_lt, full recipe): {record['default_run_seconds']:.0f} s "
                     f"in a fresh process, all mAP {record['default_run_map_all']:.2f}")
    if "resnet50_224_b32" in record:
        r = record["resnet50_224_b32"]
        lines.append(f"ResNet-50 224px b32: harness {r['harness_images_per_s']:.0f} img/s, plain {r['plain_loop_images_per_s']:.0f} img/s")
        if "resnet50_224_blargest" in record:
            lines.append(f"ResNet-50 224px b{record['resnet50_224_blargest_batch']} (largest model step: b{record['resnet50_224_largest_batch']}):"
                         f" plain {record['resnet50_224_blargest']['plain_loop_images_per_s']:.0f} img/s")
    return lines


__all__ = ["run_bench", "record_path", "summary_lines", "bench_ap", "bench_ap_scaling", "bench_pipeline", "bench_training", "bench_default_run"]
