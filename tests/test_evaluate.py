"""`ltml-bench evaluate`: a user's prediction file against a dataset's test split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import FAST, cli

from ltml_bench.errors import UserError
from ltml_bench.reporting.scoring import evaluate

SET_ARGS = [f"--set={k}={v}" for k, v in {**FAST, "sampler": "class_aware", "epoch_reduce": 128}.items()]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs")
    result = cli("run", "--method", "erm", "--seed", "0", "--epochs", "1", "--out", str(out), *SET_ARGS)
    assert result.returncode == 0, result.stderr
    return next((out / "synth_lt" / "erm").iterdir())


@pytest.fixture(scope="module")
def stored(run_dir: Path) -> dict:
    data = np.load(run_dir / "scores.npz")
    return {"ids": [str(i) for i in data["ids"]], "scores": data["scores"], "class_names": [str(c) for c in data["class_names"]],
            "record": json.loads((run_dir / "result.json").read_text())}


def _write_csv(path: Path, header: list[str], ids: list[str], scores: np.ndarray) -> Path:
    lines = [",".join(header)] + [",".join([i, *(f"{v:.9g}" for v in row)]) for i, row in zip(ids, scores)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_evaluate_of_a_runs_scores_equals_its_record(run_dir: Path, stored: dict) -> None:
    result = cli("evaluate", "--dataset", "synth_lt", "--scores", str(run_dir / "scores.npz"), "--format", "json")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["map"] == stored["record"]["map"]
    assert payload["per_class_ap"] == stored["record"]["per_class_ap"]
    assert payload["groups"] == stored["record"]["groups"]
    rich = cli("evaluate", "--dataset", "synth_lt", "--scores", str(run_dir / "scores.npz"))
    assert rich.returncode == 0 and "tail" in rich.stdout and f"{stored['record']['map']['all']:.2f}" in rich.stdout


def test_csv_in_any_row_and_column_order_and_npy(tmp_path: Path, stored: dict) -> None:
    rng = np.random.default_rng(0)
    rows = rng.permutation(len(stored["ids"]))
    cols = rng.permutation(len(stored["class_names"]))
    ids = [stored["ids"][i] for i in rows]
    named = _write_csv(tmp_path / "named.csv", ["image_id", *(stored["class_names"][c] for c in cols)], ids, stored["scores"][rows][:, cols])
    assert evaluate("synth_lt", named)["map"] == stored["record"]["map"]
    unnamed = _write_csv(tmp_path / "unnamed.csv", ["image_id"] + [""] * len(cols), ids, stored["scores"][rows])
    assert evaluate("synth_lt", unnamed)["map"] == stored["record"]["map"]
    np.save(tmp_path / "scores.npy", stored["scores"])
    assert evaluate("synth_lt", tmp_path / "scores.npy")["map"] == stored["record"]["map"]
    # the group rule is --set-able
    other = evaluate("synth_lt", named, {"head_min": "300", "tail_below": "10"})
    assert other["group_rule"] == {"head_min": 300, "tail_below": 10} and other["map"]["all"] == stored["record"]["map"]["all"]


def _bad_files(tmp_path: Path, stored: dict) -> dict[str, tuple[Path, str]]:
    ids, scores, names = stored["ids"], stored["scores"], stored["class_names"]
    header = ["image_id", *names]
    cases = {
        "missing ids": (_write_csv(tmp_path / "missing.csv", header, ids[:-5], scores[:-5]), "5 test image(s) have no scores"),
        "extra ids": (_write_csv(tmp_path / "extra.csv", header, ids + ["test_99999"], np.vstack([scores, scores[:1]])), "not in the test split ('test_99999')"),
        "duplicate ids": (_write_csv(tmp_path / "dup.csv", header, ids + ids[:1], np.vstack([scores, scores[:1]])), "1 duplicate id(s) ('test_00000')"),
        "class count": (_write_csv(tmp_path / "few.csv", header[:-1], ids, scores[:, :-1]), "the dataset has 20 classes"),
        "unknown class": (_write_csv(tmp_path / "names.csv", ["image_id", "cat", *names[1:]], ids, scores), "unknown class(es) ('cat')"),
        "first column": (_write_csv(tmp_path / "first.csv", ["id", *names], ids, scores), "expected 'image_id'"),
        "empty": (tmp_path / "empty.csv", "the file is empty"),
        "unsupported": (tmp_path / "scores.txt", "unsupported file type '.txt'"),
        "no file": (tmp_path / "nowhere.csv", "no such file"),
        "npz keys": (tmp_path / "keys.npz", "needs arrays 'ids'"),
        "npy rows": (tmp_path / "short.npy", "rows, the test split has 2000 images"),
        "npy nan": (tmp_path / "nan.npy", "non-finite score(s), first at row 7, class 2"),
    }
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "scores.txt").write_text("x")
    np.savez(tmp_path / "keys.npz", scores=scores)
    np.save(tmp_path / "short.npy", scores[:10])
    with_nan = scores.copy()
    with_nan[7, 2] = np.nan
    np.save(tmp_path / "nan.npy", with_nan)
    text = (tmp_path / "named.csv")
    lines = _write_csv(text, header, ids, scores).read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + ",high"
    (tmp_path / "word.csv").write_text("\n".join(lines) + "\n")
    cases["non-numeric"] = (tmp_path / "word.csv", "line 4, column yellow_bars: 'high' is not a number")
    lines[3] = lines[3].rsplit(",", 1)[0] + ",inf"
    (tmp_path / "inf.csv").write_text("\n".join(lines) + "\n")
    cases["non-finite"] = (tmp_path / "inf.csv", "line 4, column yellow_bars: inf is not a finite score")
    lines[3] = lines[3].rsplit(",", 1)[0]
    (tmp_path / "short_row.csv").write_text("\n".join(lines) + "\n")
    cases["short row"] = (tmp_path / "short_row.csv", "line 4: 20 field(s), expected 21")
    return cases


def test_bad_score_files_are_refused_with_one_line(tmp_path: Path, stored: dict) -> None:
    for name, (path, expected) in _bad_files(tmp_path, stored).items():
        with pytest.raises(UserError) as info:
            evaluate("synth_lt", path)
        message = str(info.value)
        assert expected in message, (name, message)
        # Through the Python API the file is named as the argument is spelled (scores=...).
        assert "\n" not in message and message.startswith(f"scores={str(path)!r}"), (name, message)


def test_cli_bad_scores_exit_2_one_line(tmp_path: Path, stored: dict) -> None:
    path = _write_csv(tmp_path / "missing.csv", ["image_id", *stored["class_names"]], stored["ids"][:-1], stored["scores"][:-1])
    result = cli("evaluate", "--dataset", "synth_lt", "--scores", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "1 test image(s) have no scores ('test_01999')" in result.stderr
    assert result.stderr.startswith(f"ltml-bench: error: --scores {str(path)!r}"), result.stderr
    bad_set = cli("evaluate", "--dataset", "synth_lt", "--scores", str(path), "--set", "head=5")
    assert bad_set.returncode == 2 and "unknown key" in bad_set.stderr
