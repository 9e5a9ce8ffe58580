"""The command line: contracts of `run`, `table`, `list`, and bad input handling."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import pytest
from conftest import FAST, cli

FAST_ARGS = [f"--set={k}={v}" for k, v in FAST.items()]


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    for method in ("erm", "hmt"):
        result = cli("run", "--method", method, "--seed", "0", "--seed", "1", "--epochs", "1", "--out", str(out), *FAST_ARGS)
        assert result.returncode == 0, result.stderr
    return out


def test_help_lists_commands_without_importing_torch() -> None:
    """`--help` and `list` start fast because they import neither torch nor timm (no wall time
    is asserted: a busy machine must not fail the suite; `ltml-bench bench` holds the figures)."""
    result = cli("--help")
    assert result.returncode == 0
    for command in ("run", "table", "list", "show", "new"):
        assert command in result.stdout
    import subprocess
    import sys

    code = ("import sys; from ltml_bench.cli.app import main\n"
            "for argv in (['--help'], ['list', '--format', 'json']):\n"
            "    try: main(argv)\n"
            "    except SystemExit: pass\n"
            "print('torch' in sys.modules, 'timm' in sys.modules, file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stderr.strip().splitlines()[-1] == "False False", proc.stderr


def test_run_json_prints_exactly_one_object(tmp_path: Path) -> None:
    result = cli("run", "--method", "erm", "--seed", "0", "--json", "--epochs", "1", "--out", str(tmp_path), *FAST_ARGS)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)  # the whole stdout is one JSON document
    assert result.stdout.count("\n") == 1
    assert set(payload["map"]) >= {"head", "middle", "tail", "all"}
    assert all(0.0 <= payload["map"][g] <= 100.0 for g in ("head", "middle", "tail", "all"))
    assert payload["method"] == "erm" and payload["seed"] == 0


def test_run_prints_group_table(runs: Path) -> None:
    # already finished: the stored result is shown again (and said so on stderr)
    result = cli("run", "--method", "hmt", "--seed", "0", "--epochs", "1", "--out", str(runs), *FAST_ARGS)
    assert result.returncode == 0
    for word in ("head", "middle", "tail", "all", "HMT-Net"):
        assert word in result.stdout
    assert "already finished" in result.stderr


def test_table_csv_has_the_contract_columns(runs: Path) -> None:
    result = cli("table", "--format", "csv", "--runs", str(runs))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {"method", "head", "middle", "tail", "all"} <= set(rows[0])
    assert {r["method"] for r in rows} == {"erm", "hmt"}
    assert all(r["n_seeds"] == "2" for r in rows)
    alls = [float(r["all"]) for r in rows]
    assert alls == sorted(alls, reverse=True)  # ranked by all


def test_table_formats_and_write(runs: Path, tmp_path: Path) -> None:
    md = cli("table", "--format", "md", "--runs", str(runs))
    assert md.returncode == 0 and md.stdout.startswith("| rank | method")
    js = cli("table", "--format", "json", "--runs", str(runs))
    assert {r["method"] for r in json.loads(js.stdout)} == {"erm", "hmt"}
    rich = cli("table", "--runs", str(runs))
    assert rich.returncode == 0 and "HMT-Net" in rich.stdout
    written = cli("table", "--dataset", "synth_lt", "--runs", str(runs), "--write", "--leaderboards", str(tmp_path), "--format", "md")
    assert written.returncode == 0
    text = (tmp_path / "synth_lt.md").read_text()
    assert "ltml-bench table --dataset synth_lt" in text and "HMT-Net" in text and "±" in text


def test_table_skips_corrupt_and_unfinished_runs(runs: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "runs"
    shutil.copytree(runs, copy)
    victim = next((copy / "synth_lt" / "erm").iterdir())
    (victim / "result.json").write_text('{"method": "erm", "map": {')
    unfinished = copy / "synth_lt" / "erm" / "seed9-unfinished"
    unfinished.mkdir()
    (unfinished / "config.json").write_text("{}")
    result = cli("table", "--runs", str(copy), "--format", "csv")
    assert result.returncode == 0
    assert str(victim) in result.stderr and "corrupt" in result.stderr
    assert "unfinished" in result.stderr


def test_list_json_and_md() -> None:
    result = cli("list", "--format", "json")
    data = json.loads(result.stdout)
    names = {m["name"] for m in data["methods"]}
    assert {"erm", "hmt"} <= names
    assert all(m["paper"] for m in data["methods"])
    assert "synth_lt" in {d["name"] for d in data["datasets"]}
    md = cli("list", "--format", "md")
    assert md.returncode == 0 and "| hmt |" in md.stdout


BAD_INPUTS = {
    "unknown method": (["run", "--method", "hmtt"], "unknown method 'hmtt'"),
    "unknown dataset": (["run", "--dataset", "vocc_lt"], "unknown dataset 'vocc_lt'"),
    "bad set key": (["run", "--method", "erm", "--set", "learning_rate=0.1"], "unknown key"),
    "bad set value": (["run", "--method", "erm", "--set", "lr=fast"], "not a valid float"),
    "malformed set": (["run", "--method", "erm", "--set", "lr"], "expected KEY=VALUE"),
    "bad format": (["table", "--format", "xml"], "--format"),
    "bad backbone": (["run", "--method", "erm", "--backbone", "resnet_999", "--epochs", "1"], "not a timm model"),
    "bad device": (["run", "--method", "erm", "--device", "cuda", "--epochs", "1"], "CUDA is not available"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_one_line_exit_2_nothing_harmed(case: str, runs: Path) -> None:
    import torch

    args, expected = BAD_INPUTS[case]
    if case == "bad device" and torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    before = _tree_digest(runs)
    extra = ["--out", str(runs)] if args[0] == "run" else ["--runs", str(runs)]
    result = cli(*args, *extra)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 3
    assert _tree_digest(runs) == before


def test_unreadable_runs_folder(tmp_path: Path) -> None:
    missing = cli("table", "--runs", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    not_dir = cli("table", "--runs", str(a_file))
    assert not_dir.returncode == 2 and "not a folder" in not_dir.stderr
    out_file = cli("run", "--method", "erm", "--out", str(a_file), "--epochs", "1", *FAST_ARGS)
    assert out_file.returncode == 2 and "is a file" in out_file.stderr
    assert a_file.read_text() == "x"


def test_debug_variable_shows_traceback() -> None:
    result = cli("run", "--method", "hmtt", env={"LTML_BENCH_DEBUG": "1"})
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_table_shows_published_rows_beside_ours_before_any_run(runs: Path) -> None:
    result = cli("table", "--dataset", "voc_lt", "--runs", str(runs), "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = {r["method"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    assert len(rows) == 14  # every method with a published VOC-LT row, reproduced columns empty
    hmt = rows["hmt"]
    assert hmt["n_seeds"] == "0" and hmt["all"] == ""
    assert float(hmt["reported_all"]) == pytest.approx(78.92)
    assert float(rows["erm"]["reported_tail"]) == pytest.approx(65.31)
    assert "Table 1" in hmt["reported_source"]
    ours = cli("table", "--dataset", "synth_lt", "--runs", str(runs), "--format", "csv")
    assert "reported_source" in ours.stdout.splitlines()[0]
    assert {r["method"] for r in csv.DictReader(io.StringIO(ours.stdout))} == {"erm", "hmt"}  # no published rows for synth_lt
