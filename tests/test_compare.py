"""`ltml-bench compare`, the table's intervals / tie marks / reproduced? column and the
critical-difference diagram, on fake finished runs (records + scores.npz, `fake_runs`)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import cli
from fake_runs import labels, write_method, write_run

from ltml_bench.errors import UserError
from ltml_bench.metrics.intervals import BootstrapSettings
from ltml_bench.metrics.significance import holm
from ltml_bench.reporting import compare as comparing
from ltml_bench.reporting import marks, tables
from ltml_bench.reporting.uncertainty import Resampler
from ltml_bench.runs.records import LoadedRecord

BASE = np.full(12, 1.5)
FAST = ("--resamples", "100")
SETTINGS = BootstrapSettings(resamples=100)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """toy: hmt clearly better than erm; erm_twin has erm's score distribution on other seeds;
    rw a shade better than erm (tied with nothing at the top)."""
    root = tmp_path_factory.mktemp("runs")
    y = labels(np.random.default_rng(0), 200)
    write_method(root, "toy", "hmt", [0, 1, 2, 3], y, BASE + 1.0, 0.1, method_key=1)
    write_method(root, "toy", "hmt_twin", [0, 1, 2, 3], y, BASE + 1.0, 0.1, method_key=4)
    write_method(root, "toy", "erm", [0, 1, 2, 3], y, BASE, 0.1, method_key=2)
    write_method(root, "toy", "erm_twin", [4, 5, 6, 7], y, BASE, 0.1, method_key=3)
    return root


def test_compare_json_is_one_object_with_each_group(runs: Path) -> None:
    proc = cli("compare", "hmt", "erm", "--dataset", "toy", "--runs", str(runs), "--format", "json", *FAST)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["a"] == "hmt" and result["b"] == "erm" and result["seeds_a"] == [0, 1, 2, 3]
    for group in ("head", "middle", "tail", "all"):
        entry = result["groups"][group]
        assert entry["low"] < entry["difference"] < entry["high"]
        assert entry["difference"] > 5 and entry["p_value"] < 0.05 and entry["seeds"] == "paired"
    # the Python function returns the same numbers
    assert comparing.compare("hmt", "erm", "toy", runs, SETTINGS) == result


def test_a_method_against_its_twin_on_other_seeds_is_not_significant(runs: Path) -> None:
    result = comparing.compare("erm", "erm_twin", "toy", runs, SETTINGS)
    assert result["groups"]["all"]["seeds"] == "welch"
    assert all(result["groups"][g]["p_value"] > 0.05 for g in ("head", "middle", "tail", "all"))
    assert result["groups"]["all"]["low"] < 0 < result["groups"]["all"]["high"]


def test_all_vs_holm_corrects_each_group(runs: Path) -> None:
    proc = cli("compare", "--all-vs", "hmt", "--dataset", "toy", "--runs", str(runs), "--format", "json", *FAST)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["reference"] == "hmt" and [c["method"] for c in result["comparisons"]] == ["erm", "erm_twin", "hmt_twin"]
    for group in ("head", "tail", "all"):
        raw = [c["groups"][group]["p_value"] for c in result["comparisons"]]
        assert [c["groups"][group]["p_holm"] for c in result["comparisons"]] == pytest.approx(holm(raw))
    by_name = {c["method"]: c["groups"]["all"] for c in result["comparisons"]}
    assert by_name["erm"]["difference"] < 0 and by_name["erm"]["p_holm"] < 0.05
    assert by_name["hmt_twin"]["p_holm"] > 0.05


def test_compare_csv_md_and_errors(runs: Path) -> None:
    proc = cli("compare", "hmt", "erm", "--dataset", "toy", "--runs", str(runs), "--format", "csv", *FAST)
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [r["group"] for r in rows] == ["head", "middle", "tail", "all"] and set(rows[0]) == set(comparing.CSV_FIELDS)
    md = comparing.to_markdown(comparing.compare("hmt", "erm", "toy", runs, SETTINGS))
    assert md.startswith("| A | B | group | A - B | 95% interval | p |")
    for args, needle in ((["nope", "erm"], "no finished runs of 'nope'"), (["hmt"], "two methods"),
                         (["hmt", "erm", "--resamples", "1"], "--resamples"), (["hmt", "hmt"], "same runs")):
        bad = cli("compare", *args, "--dataset", "toy", "--runs", str(runs))
        assert bad.returncode == 2 and needle in bad.stderr and "Traceback" not in bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1


def test_missing_scores_are_one_line(tmp_path: Path) -> None:
    y = labels(np.random.default_rng(1), 50)
    write_method(tmp_path, "toy", "a", [0], y, BASE, 0.1, method_key=1)
    write_method(tmp_path, "toy", "b", [0], y, BASE, 0.1, method_key=2)
    next((tmp_path / "toy" / "b").rglob("scores.npz")).unlink()
    bad = cli("compare", "a", "b", "--dataset", "toy", "--runs", str(tmp_path))
    assert bad.returncode == 2 and "no scores.npz" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_old_scores_without_labels_are_scored_with_the_rebuilt_test_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    y = labels(rng, 40)
    scores = (1.5 * y + rng.standard_normal(y.shape)).astype(np.float32)
    ids = [f"img{i}" for i in range(40)]
    order = rng.permutation(40)  # the old file's rows in another order than the split's
    new = write_run(tmp_path / "new", "toy", "a", 0, scores, y)
    old = write_run(tmp_path / "old", "toy", "a", 0, scores[order], y[order], with_labels=False, ids=[ids[i] for i in order])
    split = SimpleNamespace(test=SimpleNamespace(ids=ids, labels=y.astype(np.uint8)))
    monkeypatch.setattr("ltml_bench.registry.get_dataset", lambda name: SimpleNamespace(build=lambda **options: split))
    resampler = Resampler(BootstrapSettings(resamples=50))
    record = json.loads((new / "result.json").read_text())
    rebuilt = resampler.arrays(LoadedRecord(old, record))
    np.testing.assert_array_equal(rebuilt[1], y[order])
    wrong = write_run(tmp_path / "wrong", "toy", "a", 0, scores[:30], y[:30], with_labels=False)
    with pytest.raises(UserError, match="not the test split"):
        resampler.arrays(LoadedRecord(wrong, record))


def test_table_exports_carry_intervals_and_tie_marks(runs: Path) -> None:
    proc = cli("table", "--runs", str(runs), "--format", "csv", *FAST)
    assert proc.returncode == 0, proc.stderr
    rows = {r["method"]: r for r in csv.DictReader(io.StringIO(proc.stdout))}
    for column in tables.UNCERTAINTY_COLUMNS:
        assert column in rows["hmt"], column
    for r in rows.values():
        assert float(r["all_low"]) < float(r["all"]) < float(r["all_high"])
    top = max(rows.values(), key=lambda r: float(r["all"]))
    assert top["rank_top"] == "True" and top["tied_with_top"] == "True" and top["p_vs_top"] == ""
    twin = rows["hmt_twin" if top["method"] == "hmt" else "hmt"]
    assert twin["tied_with_top"] == "True" and float(twin["p_vs_top"]) >= 0.05
    assert rows["erm"]["tied_with_top"] == "False" and float(rows["erm"]["p_vs_top"]) < 0.05
    loaded, _ = tables.collect_loaded(runs)
    frame = marks.annotate(tables.aggregate([i.record for i in loaded]), loaded, SETTINGS)
    js = json.loads(frame.to_json(orient="records"))  # what --format json prints
    assert {"all_low", "all_high", "tied_with_top", "p_vs_top"} <= set(js[0])
    md = tables.to_markdown(frame)
    assert "all 95% CI" in md.splitlines()[0] and "| tie |" in md.splitlines()[0]
    assert "| top |" in md and "| tied |" in md
    frame.attrs["group_intervals"] = True  # `table --group-intervals`
    assert "| head 95% CI | middle 95% CI | tail 95% CI | all 95% CI |" in tables.to_markdown(frame).splitlines()[0]
    frame.attrs["group_intervals"] = False
    latex = tables.to_latex(frame)
    assert "All 95\\% CI & Tie" in latex and "& top " in latex and "& tied " in latex
    plain = cli("table", "--runs", str(runs), "--format", "csv", "--no-intervals").stdout
    assert "all_low" not in plain.splitlines()[0]


def test_python_table_with_intervals_equals_the_commands_columns(runs: Path) -> None:
    import ltml_bench

    plain = ltml_bench.table(runs=runs)
    assert "all_low" not in plain.columns  # the default stays the cheap mean/std frame
    frame = ltml_bench.table(runs=runs, intervals=True, resamples=100)
    loaded, _ = tables.collect_loaded(runs)
    expected = marks.annotate(tables.aggregate([i.record for i in loaded]), loaded, SETTINGS)
    assert list(frame["method"]) == list(expected["method"])
    for column in ("all_low", "all_high", "tail_low", "p_vs_top", "tied_with_top"):
        assert frame[column].fillna(-1).tolist() == expected[column].fillna(-1).tolist(), column  # NaN: the top row's p
    with pytest.raises(UserError):
        ltml_bench.table(runs=runs, intervals=True, resamples=0)


def test_reproduced_column_on_published_datasets(tmp_path: Path) -> None:
    y = labels(np.random.default_rng(3), 200)
    write_method(tmp_path, "voc_lt", "erm", [0, 1], y, np.full(12, 0.8), 0.1, method_key=5)  # far below ERM's 70.86
    write_method(tmp_path, "voc_lt", "hmt", [0, 1], y, np.full(12, 6.0), 0.1, method_key=6)  # far above HMT-Net's 78.92
    loaded, _ = tables.collect_loaded(tmp_path, "voc_lt")
    frame = tables.aggregate([i.record for i in loaded], reported=True, dataset="voc_lt")
    frame = marks.annotate(frame, loaded, BootstrapSettings(resamples=100))
    rows = {r["method"]: r for r in frame.to_dict("records")}
    assert rows["erm"]["reproduced"] == "above" and rows["erm"]["reproduced_gap"] == pytest.approx(70.86 - rows["erm"]["all_high"])
    assert rows["hmt"]["reproduced"] == "below" and rows["hmt"]["reproduced_gap"] == pytest.approx(78.92 - rows["hmt"]["all_low"])
    assert all(r["reproduced"] is None for m, r in rows.items() if m not in ("erm", "hmt"))  # published rows without runs
    header, cells = tables.rows_for_display(frame, reported=True)
    assert "reproduced?" in header
    assert cells[[c[1] for c in cells].index("ERM")][header.index("reproduced?")].startswith("above (+")
    assert marks.verdict(70.0, 69.0, 71.0) == ("yes", 0.0)
    assert marks.verdict(72.0, 69.0, 71.0) == ("above", pytest.approx(1.0))
    assert marks.verdict(68.5, 69.0, 71.0) == ("below", pytest.approx(-0.5))


def test_critical_difference_diagram_needs_two_datasets(tmp_path: Path) -> None:
    from ltml_bench.metrics.significance import friedman
    from ltml_bench.reporting.plots import make_plots
    from ltml_bench.reporting.ranks import across_datasets, rank_table

    for d, dataset in enumerate(("toy_a", "toy_b", "toy_c")):
        y = labels(np.random.default_rng(10 + d), 80)
        for m, (name, shift) in enumerate((("erm", 0.0), ("rw", 0.3), ("hmt", 1.0))):
            write_method(tmp_path, dataset, name, [0], y, BASE + shift, 0.1, method_key=20 * d + m)
    records = tables.collect(tmp_path)[0]
    datasets, methods, scores, reason = rank_table(records)
    assert not reason and datasets == ["toy_a", "toy_b", "toy_c"] and methods == ["erm", "hmt", "rw"]
    result, _, _ = across_datasets(records)
    assert result == friedman(scores, methods)
    assert result.average_ranks[methods.index("hmt")] == pytest.approx(1.0)
    said: list[str] = []
    written = make_plots(tmp_path, tmp_path / "plots", say=said.append)
    assert tmp_path / "plots" / "ranks_cd.png" in written and any("Friedman over 3 datasets" in line for line in said)
    one = make_plots(tmp_path, tmp_path / "one", dataset="toy_a", say=said.append)
    assert not any(p.name == "ranks_cd.png" for p in one)
