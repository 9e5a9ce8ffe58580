"""CUDA paths (skipped without a GPU): batched augmentation on the device, a bf16 training run,
probe feature extraction, and AP on the device. `benchmarks/gpu_check.sh` runs these with the
benchmark in one short GPU session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FAST

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def test_image_store_on_the_gpu_matches_the_cpu(tmp_path: Path) -> None:
    from test_imagestore import write_images

    from ltml_bench.data.imagestore import StoredImages

    paths = write_images(tmp_path / "images")
    labels = np.zeros((len(paths), 3), dtype=np.uint8)
    cpu = StoredImages(paths, labels, train=True, image_size=48, root=tmp_path / "store")
    gpu = StoredImages(paths, labels, train=True, image_size=48, root=tmp_path / "store").to("cuda")
    assert gpu._state["pixels"].is_cuda  # small store: held in GPU memory
    order = [4, 0, 6, 2, 1, 5, 3]
    for seed in range(5):
        a, _ = cpu.get_batch(order, train=True, generator=torch.Generator().manual_seed(seed))
        b, _ = gpu.get_batch(order, train=True, generator=torch.Generator().manual_seed(seed))
        assert b.is_cuda
        torch.testing.assert_close(b.cpu(), a, atol=1e-4, rtol=0)


def test_bf16_training_run_and_probe_on_cuda(tmp_path: Path) -> None:
    from ltml_bench import api

    record = api.run("hmt", "synth_lt", 0, settings=FAST, epochs=2, device="cuda", out=tmp_path)
    assert record["env"]["device"].startswith("cuda") and record["map"]["all"] > 0
    probe = api.run("erm", "synth_lt", 0, settings={**FAST, "protocol": "probe"}, epochs=2, device="cuda", out=tmp_path)
    assert probe["probe"]["feature_dim"] > 0 and probe["map"]["all"] > 0


def test_average_precision_on_cuda_matches_sklearn() -> None:
    from sklearn.metrics import average_precision_score

    from ltml_bench.metrics import average_precision

    rng = np.random.default_rng(0)
    scores = np.round(rng.normal(size=(2000, 30)), 1).astype(np.float32)  # ties
    targets = (rng.random((2000, 30)) < 0.1).astype(np.int64)
    targets[0] = 1
    ours = average_precision(torch.from_numpy(scores).cuda(), torch.from_numpy(targets).cuda()).cpu().numpy()
    ref = np.array([average_precision_score(targets[:, k], scores[:, k]) for k in range(30)])
    np.testing.assert_allclose(ours, ref, atol=1e-6)
