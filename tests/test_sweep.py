"""`ltml-bench sweep`: every combination once, finished runs skipped, submitit, validation selection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import FAST, cli

from ltml_bench.data.validation import carve_validation

FAST_SET = [arg for key, value in FAST.items() for arg in ("--set", f"{key}={value}")]


def test_sweep_runs_each_combination_once(tmp_path: Path) -> None:
    args = ["sweep", "--methods", "erm,focal", "--datasets", "synth_lt", "--seeds", "0,1", "--epochs", "1",
            "--out", str(tmp_path), "--jobs", "2", *FAST_SET]
    first = cli(*args, "--json")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["runs"], summary["already_finished"], summary["trained"], summary["failed"]) == (4, 0, 4, 0)
    assert "4 runs, 0 already finished, 4 trained" in first.stderr
    assert len(list(tmp_path.rglob("result.json"))) == 4
    assert {(r["method"], r["seed"]) for r in summary["results"]} == {("erm", 0), ("erm", 1), ("focal", 0), ("focal", 1)}
    second = cli(*args)
    assert second.returncode == 0, second.stderr
    assert "4 runs, 4 already finished, 0 trained" in second.stderr and "nothing to train" in second.stderr
    assert len(list(tmp_path.rglob("result.json"))) == 4


def test_sweep_through_submitit_local_executor(tmp_path: Path) -> None:
    proc = cli("sweep", "--methods", "erm", "--datasets", "synth_lt", "--seeds", "0", "--epochs", "1",
               "--out", str(tmp_path / "runs"), "--launcher", "submitit-local", "--slurm-folder", str(tmp_path / "logs"),
               "--json", *FAST_SET)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["trained"] == 1 and summary["failed"] == 0
    assert len(list((tmp_path / "runs").rglob("result.json"))) == 1
    assert list((tmp_path / "logs").rglob("*_result.pkl"))  # it went through submitit


def test_bad_sweep_input_is_one_line() -> None:
    proc = cli("sweep", "--methods", "erm", "--datasets", "synth_lt", "--launcher", "pbs")
    assert proc.returncode == 2 and "--launcher" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("seed", range(5))
def test_validation_split_keeps_every_class_in_training(seed: int) -> None:
    rng = np.random.default_rng(seed)
    counts_target = np.maximum(1, (200 * np.geomspace(1, 0.005, 30)).astype(int))
    labels = np.zeros((600, 30), dtype=np.uint8)
    for k, n in enumerate(counts_target):
        labels[rng.choice(600, size=min(n, 600), replace=False), k] = 1
    train, val = carve_validation(labels)
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 600
    counts = labels.sum(0)
    kept = labels[train].sum(0)
    assert np.all(kept[counts >= 1] >= 1)  # every class keeps a training image (single-image classes theirs)
    assert np.all(labels[val].sum(0)[counts >= 5] >= 1)  # classes with 5+ images are represented in validation
    assert 0.15 <= len(val) / 600 <= 0.3
    again = carve_validation(labels)
    assert np.array_equal(again[1], val)  # fixed seed: the same split every time


@pytest.mark.slow
def test_select_on_validation_records_the_choice(tmp_path: Path) -> None:
    proc = cli("sweep", "--methods", "erm", "--datasets", "synth_lt", "--seeds", "0", "--epochs", "1", "--out", str(tmp_path),
               "--grid", "lr=0.005,0.05", "--select-on", "val", *FAST_SET)
    assert proc.returncode == 0, proc.stderr
    finals = list((tmp_path / "synth_lt").rglob("result.json"))
    assert len(finals) == 1 and len(list((tmp_path / "_selection").rglob("result.json"))) == 2
    record = json.loads(finals[0].read_text())
    selection = record["selection"]
    assert selection["on"] == "val" and "test set was not used" in selection["how"]
    best = max(selection["candidates"], key=lambda c: c["val_map_all"])
    assert selection["chosen"] == best["values"] and record["config"]["train"]["lr"] == float(best["values"]["lr"])
    table = cli("table", "--runs", str(tmp_path), "--format", "json")
    assert len(json.loads(table.stdout)) == 1  # validation runs stay out of the tables


def test_local_jobs_take_gpus_round_robin() -> None:
    from ltml_bench.sweeps.runner import job_device

    assert [job_device("auto", i, 2) for i in range(4)] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]
    assert job_device(None, 3, 4) == "cuda:3" and job_device("cuda", 5, 4) == "cuda:1"
    assert job_device("auto", 3, 1) == "auto"  # one GPU (or none): every job shares it
    assert job_device("cpu", 1, 8) == "cpu" and job_device("cuda:2", 0, 8) == "cuda:2"  # explicit devices are kept
    assert job_device("auto", None, 8) == "auto"


def test_methods_all_means_every_registered_method() -> None:
    from ltml_bench.errors import UserError
    from ltml_bench.registry import METHODS
    from ltml_bench.sweeps.runner import expand_methods

    every = expand_methods(["all"])
    assert every == METHODS.names() and {"erm", "hmt", "ml_gcn", "balpoe"} <= set(every) and len(every) >= 14
    assert expand_methods(["hmt", "erm"]) == ["hmt", "erm"]
    with pytest.raises(UserError, match="alone"):
        expand_methods(["all", "erm"])
