"""The generated section "Agreement with the published tables" (ltml_bench.reporting.agreement)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import cli

from ltml_bench.reporting import tables as report
from ltml_bench.reporting.agreement import agreement_markdown, compare, published_all


def test_reversed_ranking_is_minus_one_with_every_pair_listed() -> None:
    result = compare({"A": 3.0, "B": 2.0, "C": 1.0}, {"A": 1.0, "B": 2.0, "C": 3.0}, "ref")
    assert result.tau == pytest.approx(-1.0) and result.rho == pytest.approx(-1.0)
    assert [(a, b) for a, b, *_ in result.discordant] == [("A", "B"), ("A", "C"), ("B", "C")]


def test_one_swapped_pair_matches_the_closed_forms() -> None:
    # 4 methods, B and C swapped: tau = (concordant - discordant) / pairs = (5 - 1) / 6;
    # rho = 1 - 6 sum d^2 / (n (n^2 - 1)) = 1 - 6 * 2 / 60
    result = compare({"A": 4.0, "B": 3.0, "C": 2.0, "D": 1.0, "only_ours": 9.0}, {"A": 40.0, "B": 20.0, "C": 30.0, "D": 10.0}, "ref")
    assert result.methods == ["A", "B", "C", "D"]  # only the methods both rankings hold
    assert result.tau == pytest.approx(4 / 6) and result.rho == pytest.approx(0.8)
    assert result.discordant == [("B", "C", 3.0, 2.0, 20.0, 30.0)] and result.ties == 0


def test_ties_are_counted_apart_and_too_few_methods_give_nothing() -> None:
    result = compare({"A": 2.0, "B": 2.0, "C": 1.0}, {"A": 3.0, "B": 2.0, "C": 1.0}, "ref")
    assert result.ties == 1 and result.discordant == []
    assert compare({"A": 1.0, "B": 2.0}, {"A": 1.0, "B": 2.0}, "ref") is None


def test_published_tables_are_the_methods_reported_all_column() -> None:
    voc = published_all("voc_lt")
    assert voc["DB Focal"] == pytest.approx(78.29) and voc["ERM"] == pytest.approx(70.86) and len(voc) == 14
    assert published_all("coco_lt")["CB Focal"] == pytest.approx(49.06)


def _record(method: str, title: str, all_: float, protocol: str = "finetune", variant: str = "default") -> dict:
    return {"method": method, "method_title": title, "dataset": "synth_lt", "seed": 0, "variant": variant,
            "config": {"train": {"protocol": protocol}}, "map": {"head": all_, "middle": all_, "tail": all_, "all": all_}}


# ours: DB Focal > ERM > CB Focal; VOC-LT: DB Focal 78.29 > CB Focal 75.24 > ERM 70.86 (one swap)
FIXTURE = [_record("db_focal", "DB Focal", 60.0), _record("erm", "ERM", 50.0), _record("cb_focal", "CB Focal", 40.0),
           _record("erm", "ERM", 99.0, protocol="probe"), _record("hmt", "HMT-Net", 99.0, variant="lam=1.0")]


def test_section_uses_the_fine_tuning_default_variants_only() -> None:
    text = agreement_markdown(report.aggregate(FIXTURE))
    assert text.startswith("## Agreement with the published tables")
    voc_row = next(line for line in text.splitlines() if line.startswith("| VOC-LT"))
    assert "| 3 | 0.33 " in voc_row and "1 of 3" in voc_row  # tau (2 - 1) / 3
    assert "- ERM above CB Focal here (50.00 vs 40.00), below it in VOC-LT (70.86 vs 75.24)" in text
    assert "HMT-Net above" not in text and "below HMT-Net" not in text  # a non-default variant and probe runs do not enter the ranking
    assert "the two published tables agree with each other" in text


def test_rank_table_and_the_low_agreement_paragraph() -> None:
    # ranks here DB Focal 1, ERM 2, CB Focal 3; in both published tables DB Focal 1, CB Focal 2, ERM 3.
    # tau 1/3 is below the published tables' agreement with each other (0.58), so the measured
    # pattern is spelled out: class-aware DB Focal 1.0 vs 1.0; uniform ERM + CB Focal (2+3)/2 vs (3+2)/2.
    text = agreement_markdown(report.aggregate(FIXTURE))
    assert "| DB Focal | class-aware | 1 | 1 | 1 |" in text and "| ERM | uniform | 2 | 3 | 3 |" in text
    assert "| CB Focal | uniform | 3 | 2 | 2 |" in text
    low = next(line for line in text.splitlines() if line.startswith("**The agreement is low**"))
    assert "the 1 class-aware-sampled method(s) (DB Focal): mean rank 1.0 here against 1.0 in VOC-LT, 1.0 in COCO-LT" in low
    assert "the 2 uniform-sampled method(s) (ERM, CB Focal): mean rank 2.5 here against 2.5 in VOC-LT" in low
    assert "The largest moves: ERM (2 here, 3 in VOC-LT, 3 in COCO-LT); CB Focal (3 here, 2 in VOC-LT, 2 in COCO-LT)." in low
    # the same ranking as VOC-LT's: tau 1 is above 0.58, so no paragraph
    agreeing = [_record("db_focal", "DB Focal", 60.0), _record("cb_focal", "CB Focal", 50.0), _record("erm", "ERM", 40.0)]
    assert "The agreement is low" not in agreement_markdown(report.aggregate(agreeing))


def test_table_write_adds_the_section(tmp_path: Path) -> None:
    for i, r in enumerate(FIXTURE):
        folder = tmp_path / "runs" / "synth_lt" / r["method"] / f"seed{i}-k"
        folder.mkdir(parents=True)
        (folder / "result.json").write_text(json.dumps(r))
    result = cli("table", "--runs", str(tmp_path / "runs"), "--dataset", "synth_lt", "--write", "--leaderboards", str(tmp_path / "lb"))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "lb" / "synth_lt.md").read_text()
    assert "## Agreement with the published tables" in text and "| COCO-LT | 3 |" in text


def test_probe_text_names_pretrained_weights_instead_of_random_features() -> None:
    probe = _record("erm", "ERM", 30.0, protocol="probe")
    probe["config"]["train"].update({"pretrained": True, "weights_file": "builtin:synth_world-test_resnet", "weights_sha256": "ab" * 32})
    text = report.leaderboard_markdown(report.aggregate(FIXTURE[:3] + [probe]), "synth_lt", "runs", FIXTURE[:3] + [probe])
    assert "Here the backbone is pretrained: the probe reads the frozen features of `builtin:synth_world-test_resnet`" in text
    assert "randomly initialised" not in text
