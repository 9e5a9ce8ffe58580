"""Crash safety, for real: SIGKILL a `run` subprocess at several moments, `--resume` it, and get
exactly the metrics of an uninterrupted run; NaN losses; concurrent runs into one runs folder."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import FAST, cli

# FAST settings plus short class-aware epochs (122 images, 4 steps), so that 6 epochs take seconds
SETTINGS = {**FAST, "sampler": "class_aware", "epoch_reduce": 128}
SET_ARGS = [f"--set={k}={v}" for k, v in SETTINGS.items()]
RUN_ARGS = ["run", "--method", "erm", "--seed", "3", "--epochs", "6", "--json", *SET_ARGS]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
ENV.pop("LTML_BENCH_DEBUG", None)


def _start(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ltml_bench", *RUN_ARGS, "--out", str(out), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )


def _run_dir(out: Path) -> Path | None:
    found = sorted((out / "synth_lt" / "erm").glob("seed3-*")) if (out / "synth_lt" / "erm").is_dir() else []
    return found[0] if found else None


def _epochs_logged(out: Path) -> int:
    run_dir = _run_dir(out)
    log = run_dir / "log.txt" if run_dir else None
    return len(log.read_text().splitlines()) if log and log.exists() else 0


def _wait_until(proc: subprocess.Popen, condition, what: str, timeout: float = 1800) -> None:
    """Poll `condition`; the limit only guards against a hung run (it asserts no speed)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            stdout, stderr = proc.communicate()
            pytest.fail(f"the run exited (status {proc.returncode}) before {what}: {stderr[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()


def _finish(proc: subprocess.Popen) -> dict:
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    return json.loads(stdout)


def test_sigkill_at_any_moment_then_resume_matches_uninterrupted(tmp_path: Path) -> None:
    baseline_proc = _start(tmp_path / "full")  # runs alongside the interrupted chain
    out = tmp_path / "cut"
    moments = []

    # 1. killed during the first epoch: no checkpoint yet; --resume must start cleanly
    proc = _start(out)
    _wait_until(proc, lambda: _run_dir(out) is not None and (_run_dir(out) / "env.json").exists(), "env.json")
    time.sleep(0.3)
    _kill(proc)
    moments.append(("first epoch", (_run_dir(out) / "checkpoint.pt").exists()))

    # 2. killed right after the first checkpoint appears
    proc = _start(out, "--resume")
    _wait_until(proc, lambda: _epochs_logged(out) >= 1, "the first checkpoint")
    _kill(proc)
    moments.append(("after checkpoint 1", _epochs_logged(out)))

    # 3. killed in the middle of epoch 4 (half an epoch after checkpoint 3)
    proc = _start(out, "--resume")
    _wait_until(proc, lambda: _epochs_logged(out) >= 2, "checkpoint 2")
    t2 = time.monotonic()
    _wait_until(proc, lambda: _epochs_logged(out) >= 3, "checkpoint 3")
    time.sleep(0.5 * (time.monotonic() - t2))
    _kill(proc)
    moments.append(("mid epoch 4", _epochs_logged(out)))
    assert not (_run_dir(out) / "result.json").exists()

    # 4. killed after the last checkpoint, while evaluating (before result.json)
    proc = _start(out, "--resume")
    _wait_until(proc, lambda: _epochs_logged(out) >= 6, "checkpoint 6")
    result_before_kill = (_run_dir(out) / "result.json").exists()
    _kill(proc)
    moments.append(("after checkpoint 6", result_before_kill))

    # 5. killed right after result.json appears
    proc = _start(out, "--resume")
    _wait_until(proc, lambda: (_run_dir(out) / "result.json").exists(), "result.json")
    _kill(proc)

    # 6. --resume of the finished run: the stored result, twice
    resumed = _finish(_start(out, "--resume"))
    again = _finish(_start(out, "--resume"))
    full = _finish(baseline_proc)
    print("kill moments:", moments)

    assert resumed["reused"] and again["reused"] and not full["reused"]
    assert resumed["map"] == full["map"]
    assert resumed["per_class_ap"] == full["per_class_ap"]
    assert again["map"] == full["map"]
    run_dir = _run_dir(out)
    log_lines = (run_dir / "log.txt").read_text().splitlines()
    assert [line.split()[1] for line in log_lines] == [f"{e}/6" for e in range(1, 7)]  # one line per epoch
    assert not list(run_dir.glob(".*.tmp"))
    record = json.loads((run_dir / "result.json").read_text())
    # training time adds up over the interrupted attempts (the last one trained no epoch at all)
    logged = float(log_lines[-1].split("elapsed ")[1].rstrip("s"))  # rounded to 0.1 s in the log
    assert record["train_seconds"] >= logged - 0.051 and logged > 0


NAN_PLUGIN = '''
import torch
from ltml_bench.registry import MethodSpec, register_method


class NanAtStep3(torch.nn.Module):
    def __init__(self, class_counts, num_samples, **params):
        super().__init__()
        self.calls = 0

    def forward(self, logits, targets):
        self.calls += 1
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
        return loss * float("nan") if self.calls == 3 else loss


register_method(MethodSpec(name="nan_at_3", title="NaN at step 3", paper="test", summary="test",
                           loss=f"{__name__}:NanAtStep3"))  # a plugin file's own module name
'''


def test_nan_loss_stops_with_one_line_naming_method_epoch_step(tmp_path: Path) -> None:
    plugin = tmp_path / "nanplug.py"
    plugin.write_text(NAN_PLUGIN)
    result = cli("run", "--method", "nan_at_3", "--plugin", str(plugin), "--epochs", "2", "--out", str(tmp_path / "runs"), *SET_ARGS)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    # one error line; the short test epochs (4 batches) also earn a `warning:` line about the recipe
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1, result.stderr
    assert "'nan_at_3'" in lines[0] and "epoch 1" in lines[0] and "step 3" in lines[0] and "nan" in lines[0]
    assert not list((tmp_path / "runs").rglob("result.json"))


def test_concurrent_runs_into_one_folder_all_finish(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    # a fresh data cache: the three processes also race to generate the dataset
    env = {**ENV, "LTML_BENCH_CACHE": str(tmp_path / "cache")}
    jobs = [("erm", "0"), ("erm", "1"), ("rw", "0")]
    procs = [
        subprocess.Popen([sys.executable, "-m", "ltml_bench", "run", "--method", m, "--seed", s, "--epochs", "1", "--json",
                          "--out", str(runs), *SET_ARGS], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for m, s in jobs
    ]
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
        json.loads(stdout)
    table = cli("table", "--runs", str(runs), "--format", "csv")
    assert table.returncode == 0, table.stderr
    assert "skipped" not in table.stderr
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    seeds = {(r["method"], r["seeds"]) for r in rows}
    assert seeds == {("erm", "0,1"), ("rw", "0")}


def test_ctrl_c_exits_130_with_a_hint_and_resume_continues(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ltml_bench", *RUN_ARGS, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=ENV, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    _wait_until(proc, lambda: _epochs_logged(out) >= 1, "the first checkpoint")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=1200)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and stdout == ""
    done = _epochs_logged(out)
    assert done >= 1 and f"interrupted; {done} of 6 epoch(s) are checkpointed in {_run_dir(out)}, continue with --resume" in stderr
    assert (_run_dir(out) / "checkpoint.pt").exists() and not (_run_dir(out) / "result.json").exists()


def test_ctrl_c_before_the_first_epoch_says_nothing_was_checkpointed(tmp_path: Path) -> None:
    """Interrupted while the first (long: batch 8, shuffled) epoch trains: no claim of checkpoints,
    the new run folder is removed, and the message says to run the command again."""
    out = tmp_path / "runs"
    args = ["run", "--method", "erm", "--seed", "4", "--epochs", "2", *[f"--set={k}={v}" for k, v in FAST.items()], "--set=batch_size=8"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ltml_bench", *args, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=ENV, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    _wait_until(proc, lambda: any(out.rglob("env.json")), "the run folder")  # written just before training starts
    assert not any(out.rglob("checkpoint.pt"))
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=1200)
    assert proc.returncode == 130, stderr
    assert "interrupted before the first epoch finished: nothing was checkpointed" in stderr
    assert "finished epochs are checkpointed" not in stderr and "Traceback" not in stderr
    assert not list(out.rglob("seed4-*"))  # nothing to resume, nothing left behind


def test_identical_command_while_a_run_trains_is_refused(tmp_path: Path) -> None:
    """A second process on the same run folder stops at once with one line; nothing is harmed."""
    from ltml_bench import api
    from ltml_bench.errors import UserError
    from ltml_bench.runs.records import LOCK_FILE
    from ltml_bench.storage.locks import FileLock

    first = api.run("erm", "synth_lt", 0, settings=FAST, epochs=1, out=tmp_path)
    run_dir = next(tmp_path.rglob("result.json")).parent
    before = (run_dir / "result.json").read_bytes()
    holder = FileLock(run_dir / LOCK_FILE)  # stands for a process that is training this run right now
    assert holder.acquire(wait=False)
    try:
        with pytest.raises(UserError, match="being trained by another process"):
            api.run("erm", "synth_lt", 0, settings=FAST, epochs=1, out=tmp_path, overwrite=True)
        assert (run_dir / "result.json").read_bytes() == before
    finally:
        holder.release()
    again = api.run("erm", "synth_lt", 0, settings=FAST, epochs=1, out=tmp_path)
    assert again["reused"] and again["map"] == first["map"]
