"""`torchrun --nproc-per-node 2 -m ltml_bench run ...` on CPU (gloo): one result, same as one process.

Tolerance: the two runs differ only in the order in which floating-point gradient sums are added
(DDP averages the two ranks' gradients of their halves of each global batch), so the test uses a
model without batch statistics: `neck_dim=0` (no neck BatchNorm / Dropout) and `frozen_bn=true`
(backbone BatchNorm in eval mode). With BatchNorm in training mode each rank would normalise over
its 16 images instead of 32 and the runs would differ by the noise of a different seed (about
0.5 mAP here). Measured difference: 0.0 mAP, test logits within 5e-8; allowed: 0.05 mAP points
(all and every group) and 1e-3 on the logits.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import FAST

ARGS = ["run", "--method", "erm", "--dataset", "synth_lt", "--device", "cpu", "--epochs", "1", "--json",
        "--set", f"backbone={FAST['backbone']}", "--set", f"warmup_iters={FAST['warmup_iters']}",
        "--set", "neck_dim=0", "--set", "frozen_bn=true"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LTML_BENCH_DEBUG", None)
    env["OMP_NUM_THREADS"] = "1"
    for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    return env


def test_two_process_gloo_run_writes_one_result_matching_one_process(tmp_path: Path) -> None:
    ddp = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "ltml_bench", *ARGS, "--out", str(tmp_path / "ddp")],
        capture_output=True, text=True, env=_env(), timeout=1200,
    )
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    lines = ddp.stdout.strip().splitlines()
    assert len(lines) == 1, ddp.stdout  # rank 1 prints nothing
    results = list((tmp_path / "ddp").rglob("result.json"))
    assert len(results) == 1
    record = json.loads(results[0].read_text())
    assert record["world_size"] == 2
    assert json.loads(lines[0])["map"] == record["map"]

    single = subprocess.run([sys.executable, "-m", "ltml_bench", *ARGS, "--out", str(tmp_path / "single")],
                            capture_output=True, text=True, env=_env(), timeout=1200)
    assert single.returncode == 0, single.stderr[-3000:]
    reference = json.loads(single.stdout)
    for group in ("head", "middle", "tail", "all"):
        assert abs(record["map"][group] - reference["map"][group]) <= 0.05, (group, record["map"], reference["map"])
    a = np.load(next((tmp_path / "ddp").rglob("scores.npz")))["scores"]
    b = np.load(next((tmp_path / "single").rglob("scores.npz")))["scores"]
    assert a.shape == b.shape and np.abs(a - b).max() <= 1e-3


def test_two_process_run_on_an_image_file_dataset_shares_one_store(tmp_path: Path) -> None:
    """A CSV image dataset (decode-once store): rank 0 builds the store while rank 1 waits, then
    both read it; the result matches one process (same tolerance, same batch-statistics-free model)."""
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    rows = ["image,labels"]
    for i in range(40):
        Image.fromarray(rng.integers(0, 256, (18 + i % 5, 24, 3), dtype=np.uint8)).save(folder / f"{i}.png")
        rows.append(f"{i}.png,{'a b' if i % 3 else 'c'}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    args = ["run", "--method", "erm", "--dataset", "csv", "--device", "cpu", "--epochs", "1", "--json",
            "--set", f"images={folder}", "--set", f"labels={tmp_path / 'labels.csv'}", "--set", "image_size=16",
            "--set", f"backbone={FAST['backbone']}", "--set", "neck_dim=0", "--set", "frozen_bn=true", "--set", "batch_size=8",
            "--no-pretrained"]
    env = {**_env(), "LTML_BENCH_CACHE": str(tmp_path / "cache")}
    ddp = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "ltml_bench", *args, "--out", str(tmp_path / "ddp")], capture_output=True, text=True, env=env, timeout=1200)
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    stores = [p for p in (tmp_path / "cache" / "images").iterdir() if p.suffix != ".lock"]
    assert len(stores) == 2 and not [p for p in stores if p.name.startswith(".")]  # train + test, no leftovers
    single = subprocess.run([sys.executable, "-m", "ltml_bench", *args, "--out", str(tmp_path / "single")],
                            capture_output=True, text=True, env=env, timeout=1200)
    assert single.returncode == 0, single.stderr[-3000:]
    a = np.load(next((tmp_path / "ddp").rglob("scores.npz")))["scores"]
    b = np.load(next((tmp_path / "single").rglob("scores.npz")))["scores"]
    assert a.shape == b.shape and np.abs(a - b).max() <= 1e-3
