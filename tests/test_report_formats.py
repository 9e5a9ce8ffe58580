"""`table --format latex|md`: booktabs LaTeX and best-per-column marking, from stored records only."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import cli

from ltml_bench.reporting import tables as report


def _record(method: str, seed: int, head: float, middle: float, tail: float, all_: float, dataset: str = "synth_lt") -> dict:
    return {"method": method, "method_title": method.upper() + "_x", "dataset": dataset, "seed": seed, "variant": "default",
            "map": {"head": head, "middle": middle, "tail": tail, "all": all_}}


RECORDS = [
    _record("erm", 0, 60.0, 30.0, 10.0, 31.0), _record("erm", 1, 62.0, 32.0, 12.0, 33.0),
    _record("hmt", 0, 58.0, 35.0, 20.0, 36.0), _record("hmt", 1, 58.0, 37.0, 22.0, 38.0),
    _record("rw", 0, 50.0, 30.0, 25.0, 30.0),
    _record("erm", 0, 70.0, 50.0, 40.0, 55.0, dataset="voc_lt"),
]


@pytest.fixture()
def runs(tmp_path: Path) -> Path:
    for r in RECORDS:
        folder = tmp_path / r["dataset"] / r["method"] / f"seed{r['seed']}-k"
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(r))
    return tmp_path


def test_best_cells_per_dataset_and_column() -> None:
    frame = report.aggregate(RECORDS)
    best = {(d, m): b for d, m, b in zip(frame["dataset"], frame["method"], report.best_cells(frame))}
    assert best[("synth_lt", "erm")] == {"head"}
    assert best[("synth_lt", "hmt")] == {"middle", "all"}
    assert best[("synth_lt", "rw")] == {"tail"}
    assert best[("voc_lt", "erm")] == {"head", "middle", "tail", "all"}  # alone in its dataset


def test_markdown_bolds_the_best_cell_of_each_column(runs: Path) -> None:
    result = cli("table", "--runs", str(runs), "--dataset", "synth_lt", "--format", "md", "--no-reported")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("| rank | method")
    rows = {line.split("|")[2].strip(): line for line in result.stdout.splitlines()[2:]}
    assert "**61.00 ± 1.41**" in rows["ERM_x"] and "**37.00 ± 1.41**" in rows["HMT_x"] and "**25.00**" in rows["RW_x"]
    assert rows["HMT_x"].count("**") == 4  # middle and all


def test_latex_is_booktabs_with_pm_and_bold(runs: Path) -> None:
    result = cli("table", "--runs", str(runs), "--format", "latex")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.count("\\begin{tabular}") == 2 and text.count("\\end{tabular}") == 2  # one per dataset
    for word in ("\\toprule", "\\midrule", "\\bottomrule"):
        assert text.count(word) == 2
    assert "$\\mathbf{61.00} \\pm 1.41$" in text  # best head of synth_lt
    assert "$37.00 \\pm 1.41$" not in text and "$\\mathbf{37.00} \\pm 1.41$" in text
    assert "$\\mathbf{25.00}$" in text  # one seed: no std
    assert "ERM\\_x" in text and "ERM_x" not in text  # LaTeX special characters escaped
    body = [line for line in text.splitlines() if line and line[0].isdigit()]
    assert all(line.endswith("\\\\") and line.count("&") == 8 for line in body)  # 9 columns with reported
    assert all(len(re.findall(r"(?<!\\)\$", line)) % 2 == 0 for line in body)  # balanced math mode


def test_latex_of_no_runs(tmp_path: Path) -> None:
    result = cli("table", "--runs", str(tmp_path), "--format", "latex")
    assert result.returncode == 0 and result.stdout.startswith("%")


def test_regenerating_commands_name_the_thread_count_and_the_probe_track() -> None:
    def rec(method: str, seed: int, threads: int, overrides: dict) -> dict:
        r = _record(method, seed, 50.0, 30.0, 10.0, 30.0)
        r["config"] = {"overrides": overrides, "train": {"protocol": overrides.get("protocol", "finetune")}}
        r["env"] = {"device": "cpu", "torch_threads": threads}
        return r

    records = [rec("erm", 0, 1, {}), rec("hmt", 0, 1, {"lam": 0.5}), rec("erm", 0, 1, {"protocol": "probe"})]
    lines = report._sweep_commands(records, "synth_lt", "runs")
    assert lines == [
        "ltml-bench sweep --methods erm --datasets synth_lt --seeds 0 --threads 1 --out runs",
        "ltml-bench sweep --methods hmt --datasets synth_lt --seeds 0 --grid lam=0.5 --threads 1 --out runs",
        "ltml-bench sweep --methods erm --datasets synth_lt --seeds 0 --protocol probe --threads 1 --out runs",
    ]
    records[0]["env"]["torch_threads"] = 2  # mixed thread counts: no single count to name
    assert all("--threads" not in line for line in report._sweep_commands(records, "synth_lt", "runs"))
