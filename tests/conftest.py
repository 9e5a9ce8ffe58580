"""Shared test set-up: a private data cache, fast small-model settings, the reference folder."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

# Generated datasets go to a cache private to this test session (never the user's ~/.cache). Under
# pytest-xdist the workers inherit the controller's folder (it imports this file before it starts
# them), so they share it (its files are written atomically) and synth_lt is generated once.
os.environ.setdefault("LTML_BENCH_CACHE", tempfile.mkdtemp(prefix="ltml-bench-test-cache-"))
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _XDIST_WORKER:
    # Each worker is one of several processes on the machine's cores: one intra-op thread each (and
    # in the subprocesses the tests start) instead of every process claiming all the cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Whatever plugins happen to be installed in this environment must not change the suite's results:
# entry-point discovery is off unless a test installs its own plugin and asks for it (`own_plugins`).
os.environ["LTML_BENCH_NO_PLUGINS"] = "1"
os.environ.pop("LTML_BENCH_PLUGINS", None)

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"

# Settings that make a synth_lt run take a few seconds on a CPU: the from-scratch recipe (the tests
# of the harness's mechanics keep the regime they were written for; tests/test_recipes.py covers
# the default pretrained recipe) with a smaller backbone.
# epoch_reduce=16 shortens class-aware epochs 4x (it is ignored by shuffled epochs).
# bootstrap_resamples=100 keeps each record's intervals cheap (it is not part of the run key;
# tests/test_harness.py checks the default of 1,000).
FAST = {"recipe": "scratch", "backbone": "ltml_cifar_resnet_small", "neck_dim": 16, "warmup_iters": 5, "epoch_reduce": 16,
        "bootstrap_resamples": 100}


def pytest_configure(config: pytest.Config) -> None:
    if _XDIST_WORKER:  # in case torch was imported before this file set OMP_NUM_THREADS
        import torch

        torch.set_num_threads(1)


@pytest.fixture()
def one_torch_thread():
    """Tiny models on a shared 2-core machine: extra intra-op threads only contend."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE}")
    return REFERENCE


def own_plugins(*distributions: str) -> dict[str, str]:
    """Environment for a subprocess that should see the entry points of these distributions only
    (the ones the test installed itself), never the environment's other plugins."""
    return {"LTML_BENCH_NO_PLUGINS": "0", "LTML_BENCH_PLUGINS": ",".join(distributions)}


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    """Run `python -m ltml_bench ARGS` in a subprocess; returns the completed process."""
    full_env = dict(os.environ)
    full_env.pop("LTML_BENCH_DEBUG", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "ltml_bench", *args], capture_output=True, text=True, env=full_env, timeout=timeout
    )
