"""A property-based fuzz test of the command line (Hypothesis).

It draws commands, `--set` keys and values, seeds, flags and paths, calls the CLI's `main` in this
process, and asserts for each: the exit status is 0, 2, 3 or 130; nothing escapes as an exception
(which would be a traceback); an exit 2 says so in one `ltml-bench: error:` line; and no file that
existed in the runs folder before is changed or lost.

Training itself is replaced by a stub that raises `WouldTrain` (counted as accepted input), so an
example costs milliseconds, not an epoch: everything before the first step (settings, registry,
dataset build, run folder, checkpoint checks) is real. `LTML_BENCH_FUZZ_EXAMPLES=N` raises the
budget (default 30, well under a minute); `LTML_BENCH_FUZZ_TRAIN=1` lets accepted runs train for real.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from conftest import FAST
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("LTML_BENCH_FUZZ_EXAMPLES", "30"))
ALLOWED_STATUS = {0, 2, 3, 130}

KEYS = ["lr", "epochs", "epoch_reduce", "num_workers", "neck_dim", "weight_decay", "lr_steps", "image_size", "batch_size",
        "dropout", "momentum", "grad_clip", "warmup_iters", "sampler", "protocol", "gamma", "tau_h", "tau_m", "lam",
        "head_min", "tail_below", "weights_file", "freeze_prefixes", "backbone", "no_such_key", ""]
VALUES = st.one_of(
    st.sampled_from(["-1", "0", "1", "2", "nan", "inf", "-inf", "1e309", "abc", "", "1,2", "a,b", "none", "true",
                     "0.5", "1000000000", "-0.1", "4294967296", "shuffle", "class_aware", "probe", "/nonexistent.pth"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12),
)
SEEDS = st.one_of(st.sampled_from(["0", "1", "-1", "4294967295", "4294967296", "0,1", "x", "1.5", ""]),
                  st.integers(-5, 2**33).map(str))
METHODS = st.sampled_from(["erm", "hmt", "focal", "rs", "nosuch", ""])
DATASETS = st.sampled_from(["synth_lt", "voc_lt", "csv", "nosuch"])


class WouldTrain(Exception):
    """Raised by the stub of the training loop: the input was accepted up to the first step."""


def _digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """A runs folder holding one finished record (plus an unfinished folder) and a few odd paths."""
    root = tmp_path_factory.mktemp("fuzz")
    runs = root / "runs"
    folder = runs / "synth_lt" / "erm" / "seed0-0123456789"
    folder.mkdir(parents=True)
    record = {"method": "erm", "dataset": "synth_lt", "seed": 0, "variant": "default", "config_key": "0123456789",
              "map": {"head": 50.0, "middle": 40.0, "tail": 30.0, "all": 42.0},
              "groups": {"head": ["a"], "middle": ["b"], "tail": ["c"]}, "class_names": ["a", "b", "c"], "per_class_ap": [50.0, 40.0, 30.0]}
    (folder / "result.json").write_text(json.dumps(record))
    (folder / "log.txt").write_bytes(b"epoch 1/1 \xff\n")
    unfinished = runs / "synth_lt" / "hmt" / "seed0-abcdefabcd"
    unfinished.mkdir(parents=True)
    (unfinished / "config.json").write_text("{}")
    a_file = root / "a_file.txt"
    a_file.write_text("not a folder")
    scores = root / "scores.csv"
    scores.write_text("image_id,c0\nx,0.5\n")
    return {"root": root, "runs": runs, "file": a_file, "scores": scores}


def _path(world: dict[str, Path], choice: str) -> str:
    return {
        "runs": str(world["runs"]),
        "fresh": str(world["root"] / "fresh runs"),
        "file": str(world["file"]),
        "missing": str(world["root"] / "missing" / "deeper"),
        "long": str(world["root"] / ("x" * 300)),
        "scores": str(world["scores"]),
        "dir": str(world["root"]),
    }[choice]


PATHS = st.sampled_from(["runs", "fresh", "file", "missing", "long", "scores", "dir"])


@st.composite
def command_lines(draw, world: dict[str, Path]) -> list[str]:
    command = draw(st.sampled_from(["run", "run", "run", "table", "plot", "evaluate", "list", "sweep", "data", "frobnicate", "--version", ""]))
    args: list[str] = [command] if command else []
    if command == "run":
        args += ["--method", draw(METHODS), "--dataset", draw(DATASETS)]
        for seed in draw(st.lists(SEEDS, max_size=2)):
            args += ["--seed", seed]
        for key, value in draw(st.lists(st.tuples(st.sampled_from(KEYS), VALUES), max_size=3)):
            args += ["--set", f"{key}={value}"]
        if draw(st.booleans()):
            args += ["--epochs", draw(st.sampled_from(["1", "0", "-2", "x"]))]
        args += draw(st.lists(st.sampled_from(["--resume", "--overwrite", "--json", "--no-pretrained", "--nosuch"]), max_size=2, unique=True))
        if draw(st.booleans()):
            args += ["--plugin", _path(world, draw(PATHS))]
        args += ["--out", _path(world, draw(PATHS))]
        if not any(a.startswith("backbone=") for a in args):  # small models, should a run be accepted
            args += [f"--set=backbone={FAST['backbone']}", f"--set=neck_dim={FAST['neck_dim']}"]
    elif command in ("table", "plot"):
        args += ["--runs", _path(world, draw(PATHS))]
        args += draw(st.lists(st.sampled_from(["--format", "md", "csv", "json", "xml", "--dataset", "nosuch", "--write"]), max_size=3))
        if command == "plot":
            args += ["--out", _path(world, "fresh")]
    elif command == "evaluate":
        args += ["--dataset", draw(DATASETS), "--scores", _path(world, draw(PATHS))]
    elif command == "sweep":
        args += draw(st.lists(st.sampled_from(["--methods", "nosuch", "--datasets", "synth_lt", "--seeds", "0,x", "--grid", "lr=a"]), max_size=4))
        args += ["--dry-run"] if draw(st.booleans()) else []
    elif command == "data":
        args += draw(st.lists(st.sampled_from(["check", "pareto", "frob", "--help", str(world["file"])]), max_size=2))
    return args


def _call(args: list[str]) -> tuple[int, str, str]:
    from ltml_bench.cli.app import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            main(args)
            status = 0
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except WouldTrain:
            status = 0
    return status, stdout.getvalue(), stderr.getvalue()


@pytest.fixture()
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LTML_BENCH_DEBUG", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    if os.environ.get("LTML_BENCH_FUZZ_TRAIN") != "1":
        from ltml_bench.training import loop

        def stub(plan):
            loop.check_epoch_has_batches(plan)  # the checks made before the first step stay real
            raise WouldTrain

        monkeypatch.setattr(loop, "train_and_evaluate", stub)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=os.environ.get("LTML_BENCH_FUZZ_EXAMPLES") is None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_cli_fuzz(data, world: dict[str, Path], no_training: None) -> None:
    before = _digest(world["runs"])
    args = data.draw(command_lines(world), label="argv")
    try:
        status, _, stderr = _call(args)
    except Exception as exc:  # escaping main = a traceback for the user
        pytest.fail(f"ltml-bench {args!r} raised {type(exc).__name__}: {exc}")
    assert status in ALLOWED_STATUS, (args, status, stderr)
    assert "Traceback" not in stderr, (args, stderr)
    if status == 2 and "Usage:" not in stderr:  # a group without a command prints its help instead
        errors = [line for line in stderr.splitlines() if line.startswith("ltml-bench: error:")]
        assert len(errors) == 1, (args, stderr)
    after = _digest(world["runs"])
    assert {k: after.get(k) for k in before} == before, (args, "a file that existed in the runs folder changed or was lost")
