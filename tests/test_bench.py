"""`ltml-bench bench --quick --json`: one JSON object with the speed ratios, and a record file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import cli


@pytest.mark.slow  # about 30 s: the whole `bench --quick` end to end; its parts have their own tests below
def test_bench_quick_json(tmp_path: Path) -> None:
    proc = cli("bench", "--quick", "--json", "--threads", "1", "--out", str(tmp_path), timeout=1200)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    for key in ("device", "ap_speedup_vs_sklearn", "harness_vs_plain_loop", "pipeline_vs_torchvision", "peak_memory_mb"):
        assert key in record, key
    assert record["device"] == "cpu" or record["device"].startswith("cuda")
    # ours and scikit-learn agree on 5,000 x 80 scores with ties
    assert record["ap_max_abs_diff"] <= 1e-6
    assert record["ap_shape"] == [5000, 80]
    for key in ("ap_speedup_vs_sklearn", "harness_vs_plain_loop", "pipeline_vs_torchvision", "peak_memory_mb"):
        assert record[key] > 0
    # the JPEG pipeline through the image store, against torchvision and our per-image decode
    assert record["pipeline_vs_uncached"] > 0 and "JPEGs" in record["pipeline_source"]
    assert record["tensor_pipeline_32"]["vs_torchvision"] > 0
    # bootstrap intervals against a loop of scikit-learn calls with sample_weight (small under --quick)
    assert record["intervals_shape"] == [1000, 20, 100]
    assert record["intervals_ours_seconds"] > 0 and record["intervals_speedup_vs_sklearn"] > 0
    assert record["intervals_max_abs_diff"] <= 1e-9
    # the AP scaling table: the two smallest sizes with --quick, each with the contract's keys
    rows = record["ap_scaling"]["sizes"]
    assert [(r["images"], r["classes"]) for r in rows] == [(5000, 80), (20000, 200)]
    for r in rows:
        assert r["max_abs_diff"] <= 1e-6
        assert r["ours_s"] > 0 and r["sklearn_s"] > 0 and r["sort_s"] > 0
    written = list(tmp_path.glob("*.json"))
    assert len(written) == 1 and written[0].name.startswith(record["device"])
    assert json.loads(written[0].read_text())["ap_max_abs_diff"] == record["ap_max_abs_diff"]


def _reference_get_batch(store, indices, generator):
    """The original float pad-and-crop of `TensorImages` (advanced indexing), kept as the reference."""
    import torch
    import torch.nn.functional as F

    idx = torch.as_tensor(indices, dtype=torch.long)
    x = store.images[idx].float()
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flip.view(n, 1, 1, 1), x.flip(3), x)
    if store.pad > 0:
        p = store.pad
        padded = F.pad(x, (p, p, p, p), mode="replicate")
        dx = torch.randint(0, 2 * p + 1, (n,), generator=generator)
        dy = torch.randint(0, 2 * p + 1, (n,), generator=generator)
        rows = dy.view(n, 1) + torch.arange(h).view(1, h)
        cols = dx.view(n, 1) + torch.arange(w).view(1, w)
        x = padded[torch.arange(n).view(n, 1, 1, 1), torch.arange(3).view(1, 3, 1, 1), rows.view(n, 1, h, 1), cols.view(n, 1, 1, w)]
    return (x - store.mean) / store.std


def test_fast_augmentation_matches_the_reference_exactly() -> None:
    import numpy as np
    import torch

    from ltml_bench.data import TensorImages

    rng = np.random.default_rng(0)
    for size, pad in ((32, 2), (17, 3), (8, 0), (5, 4)):
        images = rng.integers(0, 256, (40, 3, size, size), dtype=np.uint8)
        store = TensorImages(images, np.zeros((40, 2)), pad=pad)
        for indices in (np.arange(40), rng.integers(0, 40, 7)):
            ours, _ = store.get_batch(indices, train=True, generator=torch.Generator().manual_seed(5))
            ref = _reference_get_batch(store, indices, torch.Generator().manual_seed(5))
            assert torch.equal(ours, ref)


def test_training_bench_through_the_image_store() -> None:
    """The path the GPU ResNet-50 numbers take (JPEGs -> store -> batched augmentation), on CPU."""
    import torch

    from ltml_bench.bench.training import bench_training

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        r = bench_training("ltml_cifar_resnet_small", 32, 8, steps=5, warmup=2, device_name="cpu", settings={"neck_dim": 8}, images="jpeg")
        assert r["train_images"] == "jpeg" and r["harness_images_per_s"] > 0 and r["plain_loop_images_per_s"] > 0
        capped = bench_training("ltml_cifar_resnet_small", 32, 8, steps=5, warmup=2, device_name="cpu", settings={"neck_dim": 8},
                                images="jpeg", max_images=16, harness=False)
        assert capped["train_timed_steps"] == 3 and "harness_images_per_s" not in capped
    finally:
        torch.set_num_threads(threads)


def test_ap_scaling_table_on_tiny_sizes() -> None:
    """The AP scaling table's rows (tiny sizes here; the real ones are in `ltml-bench bench`)."""
    import torch

    from ltml_bench.bench.ap_scaling import bench_ap_scaling, scaling_inputs, scaling_lines, scaling_sizes

    assert scaling_sizes(quick=True, full=False) == [(5000, 80), (20000, 200)]
    assert scaling_sizes(quick=False, full=False)[-1] == (50000, 1203)
    assert scaling_sizes(quick=False, full=True)[-1] == (100000, 80)
    scores, targets = scaling_inputs(40, 300)  # N < C
    assert scores.dtype.name == "float32" and targets.dtype == bool and targets.any(0).all()
    table = bench_ap_scaling(sizes=[(200, 6), (30, 50)], memory=False, device=torch.device("cpu"))
    assert [(r["images"], r["classes"]) for r in table["sizes"]] == [(200, 6), (30, 50)]
    for row in table["sizes"]:
        assert row["max_abs_diff"] <= 1e-6
        for key in ("ours_s", "sklearn_s", "sort_s", "sklearn_over_ours", "ours_over_sort"):
            assert row[key] > 0, key
        assert row["sort_s"] == min(row["sort_dim0_s"], row["sort_transposed_s"])
        if "torchmetrics_s" in row:  # optional extra
            assert row["torchmetrics_max_abs_diff"] <= 1e-5 and row["torchmetrics_over_ours"] > 0
        else:
            assert table["torchmetrics"].startswith("skipped")
    lines = scaling_lines(table)
    assert len(lines) >= 3 and "200 x 6" in lines[1]


def test_ap_scaling_memory_probe_counts_the_kernels_temporaries() -> None:
    """The fresh-process memory probe sees at least the sort's values and indices (12 bytes per
    score of 4 bytes: 3x the matrix) for the bare sort, and a bounded multiple for ours."""
    from ltml_bench.bench.ap_scaling import _memory_row

    n, c = 20000, 40
    row = _memory_row(n, c, seed=0, matrix_bytes=n * c * 4)
    assert "memory_note" not in row, row
    assert 2.5 <= row["sort_peak_extra_over_matrix"] <= 4.5
    assert 0 < row["ours_peak_extra_over_matrix"] <= 6


def test_default_run_is_a_bench_figure_not_a_test_assertion(monkeypatch) -> None:
    """`bench` (without --quick) times `ltml-bench run` with no options in a fresh process and
    records the figure; here the subprocess is replaced, so only the recording is checked."""
    import subprocess

    from ltml_bench.bench import suite

    calls: list[list[str]] = []

    def fake_run(args, **kwargs):
        calls.append(list(args))
        return subprocess.CompletedProcess(args, 0, stdout=json.dumps({"map": {"all": 41.5}}) + "\n", stderr="")

    monkeypatch.setattr(subprocess, "run", fake_run)
    figure = suite.bench_default_run(threads=1)
    assert calls and calls[0][1:5] == ["-m", "ltml_bench", "run", "--out"] and calls[0][-1] == "--json"
    assert figure["default_run_map_all"] == 41.5 and figure["default_run_seconds"] >= 0
    lines = suite.summary_lines({**_minimal_record(), **figure})
    assert any(line.startswith("default run (ltml-bench run, HMT-Net on synth_lt, full recipe)") for line in lines)


def _minimal_record() -> dict:
    pipeline = {"ours_images_per_s": 1.0, "torchvision_images_per_s": 1.0, "vs_torchvision": 1.0}
    return {"device": "cpu", "device_name": "x", "torch_threads": 1, "harness_images_per_s": 1.0, "plain_loop_images_per_s": 1.0,
            "harness_vs_plain_loop": 1.0, "pipeline_ours_images_per_s": 1.0, "pipeline_torchvision_images_per_s": 1.0,
            "pipeline_vs_torchvision": 1.0, "pipeline_uncached_images_per_s": 1.0, "pipeline_source": "s", "tensor_pipeline_32": pipeline,
            "ap_ours_ms": 1.0, "ap_sklearn_ms": 1.0, "ap_speedup_vs_sklearn": 1.0, "ap_max_abs_diff": 0.0, "peak_memory_mb": 1.0,
            "peak_memory_kind": "k", "bench_seconds": 1.0}
