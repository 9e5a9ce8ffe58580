"""`ltml-bench plot`: figures from stored records (synthetic records here: no training needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import cli

COUNTS = [783, 9, 512, 33, 4, 6, 189, 5, 80, 350, 10, 67, 38, 22, 9, 49, 5, 138, 17, 21]
GROUPS = {"head": [i for i, n in enumerate(COUNTS) if n >= 100], "middle": [i for i, n in enumerate(COUNTS) if 20 <= n < 100],
          "tail": [i for i, n in enumerate(COUNTS) if n < 20]}


def _record(method: str, seed: int, lam: float | None, shift: float) -> dict:
    rng = np.random.default_rng(seed + int(10 * (lam or 0)))
    ap = np.clip(0.15 + 0.12 * np.log10(COUNTS) + shift + rng.normal(0, 0.03, len(COUNTS)), 0, 1)
    head_params = {} if lam is None else {"lam": lam, "tau_h": 100, "tau_m": 20}
    maps = {g: 100 * float(np.mean(ap[idx])) for g, idx in GROUPS.items()}
    maps["all"] = 100 * float(np.mean(ap))
    return {
        "method": method, "method_title": method.upper(), "dataset": "synth_lt", "seed": seed,
        "variant": "default" if lam is None or lam == 2.0 else f"lam={lam}",
        "map": maps, "groups": GROUPS, "group_rule": {"head_min": 100, "tail_below": 20},
        "group_rule_text": "head n>=100, middle 20<=n<100, tail n<20 (training counts)",
        "class_names": [f"c{i}" for i in range(len(COUNTS))], "per_class_ap": ap.tolist(), "train_counts": COUNTS,
        "config": {"seed": seed, "train": {"lr": 0.02, "epochs": 4}, "loss_params": {}, "head_params": head_params},
    }


@pytest.fixture()
def runs(tmp_path: Path) -> Path:
    records = [_record("erm", s, None, 0.0) for s in (0, 1)]
    records += [_record("hmt", s, lam, 0.05 * lam / 8) for s in (0, 1) for lam in (0.5, 2.0, 8.0)]
    for r in records:
        folder = tmp_path / "runs" / r["dataset"] / r["method"] / f"seed{r['seed']}-{r['variant']}"
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(r))
    return tmp_path / "runs"


def test_plot_writes_the_pngs(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "plots"
    result = cli("plot", "--runs", str(runs), "--out", str(out))
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["synth_lt_groups.png", "synth_lt_hmt_sensitivity_lam.png", "synth_lt_per_class_ap.png"]
    for path in out.iterdir():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    assert sorted(Path(line).name for line in result.stdout.split()) == names  # the files, on stdout
    assert "warning" not in result.stderr.lower(), result.stderr  # no library warnings (matplotlib's tight_layout)


def test_plot_methods_param_and_svg(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "svg"
    result = cli("plot", "--runs", str(runs), "--out", str(out), "--methods", "erm", "--param", "lam", "--format", "svg")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["synth_lt_groups.svg", "synth_lt_per_class_ap.svg"]
    assert "no hyper-parameter 'lam'" in result.stderr  # ERM has none: the sensitivity plot is skipped, said so
    lr = cli("plot", "--runs", str(runs), "--out", str(out), "--param", "lr")
    assert lr.returncode == 0 and "lr takes 1 value(s)" in lr.stderr and "needs 2 or more" in lr.stderr


def test_plot_bad_input(runs: Path, tmp_path: Path) -> None:
    unknown = cli("plot", "--runs", str(runs), "--out", str(tmp_path / "p"), "--methods", "erm,nope")
    assert unknown.returncode == 2 and "no finished runs of nope" in unknown.stderr and "Traceback" not in unknown.stderr
    empty = cli("plot", "--runs", str(tmp_path / "p2"), "--out", str(tmp_path / "p"))
    assert empty.returncode == 2 and "does not exist" in empty.stderr
    a_file = tmp_path / "file"
    a_file.write_text("x")
    blocked = cli("plot", "--runs", str(runs), "--out", str(a_file))
    assert blocked.returncode == 2 and "cannot write there" in blocked.stderr


def test_probe_runs_get_their_own_figures(runs: Path, tmp_path: Path) -> None:
    for seed in (0, 1):
        r = _record("erm", seed, None, -0.1)
        r["variant"] = "protocol=probe"
        r["config"]["train"]["protocol"] = "probe"
        folder = runs / "synth_lt" / "erm" / f"seed{seed}-probe"
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(r))
    from ltml_bench.reporting.plots import make_plots

    written = sorted(p.name for p in make_plots(runs, tmp_path / "plots"))
    assert written == ["synth_lt_groups.png", "synth_lt_hmt_sensitivity_lam.png", "synth_lt_per_class_ap.png",
                       "synth_lt_probe_groups.png", "synth_lt_probe_per_class_ap.png"]


def test_long_variant_names_plot_without_layout_warnings(tmp_path: Path) -> None:
    """Variants named by many overrides (an own-data sweep) once made matplotlib print "Tight layout
    not applied": the legend is wrapped into columns that fit, and stderr stays clean."""
    long_variants = ["backbone=resnet18 batch_size=16 epochs=10 freeze_prefixes=none frozen_bn=False image_size=64 "
                     "images=photos labels=photos/labels.csv pretrained=False warmup_iters=20",
                     "backbone=resnet18 epochs=2 image_size=64 images=photos labels=photos/labels.csv pretrained=False"]
    for k, variant in enumerate(long_variants):
        record = {**_record("hmt", 0, None, 0.02 * k), "variant": variant}
        folder = tmp_path / "runs" / "synth_lt" / "hmt" / f"seed0-v{k}"
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(record))
    result = cli("plot", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "plots"))
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr.lower() and "layout" not in result.stderr, result.stderr
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["synth_lt_groups.png", "synth_lt_per_class_ap.png"]
