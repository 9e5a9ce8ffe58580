"""The linear-probe protocol: features extracted once and cached, heads trained on them, own track."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import FAST, cli

from ltml_bench import api
from ltml_bench.errors import ConfigError
from ltml_bench.registry import get_dataset
from ltml_bench.reporting import tables as report
from ltml_bench.training.model import create_backbone

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROBE = {**FAST, "protocol": "probe", "batch_size": 64}


@pytest.fixture(scope="module")
def probe_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict], list[list[str]]]:
    """erm then focal then hmt on synth_lt, probe protocol; a private feature cache."""
    out = tmp_path_factory.mktemp("probe-runs")
    records, logs = [], []
    for method in ("erm", "focal", "hmt"):
        lines: list[str] = []
        records.append(api.run(method, "synth_lt", 0, settings=PROBE, epochs=3, out=out, log=lines.append))
        logs.append(lines)
    return out, records, logs


def test_probe_records_and_extracts_once(probe_runs) -> None:
    _, records, logs = probe_runs
    erm, focal, hmt = records
    assert erm["config"]["train"]["protocol"] == "probe" and "protocol=probe" in erm["variant"]
    assert erm["probe"]["extracted"] == ["train", "test"] and any("extracting the train features" in line for line in logs[0])
    for later, lines in ((focal, logs[1]), (hmt, logs[2])):  # same backbone, same seed: the cache serves them
        assert later["probe"]["extracted"] == [] and not any("extracting" in line for line in lines)
        assert later["probe"]["cache"] == erm["probe"]["cache"]
    for r in records:
        assert r["probe"]["feature_dim"] > 0 and all(0 <= v <= 100 for v in r["map"].values() if v is not None)


def test_cached_features_are_the_backbone_outputs(probe_runs) -> None:
    """An independently built backbone (same seed: it is a random one) gives the cached features."""
    _, records, _ = probe_runs
    with np.load(records[0]["probe"]["cache"]["test"]) as data:
        cached, ids = data["features"], list(data["ids"])
    bundle = get_dataset("synth_lt").build()
    assert ids == bundle.test.ids
    torch.manual_seed(0)
    backbone = create_backbone(FAST["backbone"], pretrained=False).eval()
    x, _ = bundle.test.dataset.get_batch(np.arange(10), train=False)
    with torch.no_grad():
        expected = backbone(x).numpy()
    np.testing.assert_allclose(cached[:10], expected, rtol=1e-5, atol=1e-5)


def test_probe_results_are_reproducible_and_cache_damage_is_repaired(probe_runs, tmp_path: Path) -> None:
    _, records, _ = probe_runs
    cache = Path(records[0]["probe"]["cache"]["train"])
    cache.write_bytes(b"not an npz file")  # damaged: must be re-extracted, never trusted
    lines: list[str] = []
    again = api.run("erm", "synth_lt", 0, settings=PROBE, epochs=3, out=tmp_path, log=lines.append)
    assert again["probe"]["extracted"] == ["train"]
    # the fixture's runs may have used another torch thread count (summation order): 1e-3 mAP points
    assert again["map"] == pytest.approx(records[0]["map"], abs=1e-3)
    assert again["config_key"] == records[0]["config_key"]


def test_finetune_key_unchanged_and_protocol_validated() -> None:
    from ltml_bench.config import TrainConfig

    method, dataset = api.get_method("erm"), get_dataset("synth_lt")
    finetune = api.resolve_config(method, dataset, 0, {})
    assert "protocol" not in finetune.identity()["train"]  # keys of runs made before the protocol field stay valid
    probe = api.resolve_config(method, dataset, 0, {"protocol": "probe"})
    assert probe.key() != finetune.key() and probe.variant() == "protocol=probe"
    with pytest.raises(ConfigError, match="'finetune'.*'probe'"):
        TrainConfig(protocol="linear").validate()


def test_probe_leaderboard_track(probe_runs, tmp_path: Path) -> None:
    out, records, _ = probe_runs
    finetune = api.run("erm", "synth_lt", 0, settings=FAST, epochs=1, out=out)
    frame = report.aggregate(records + [finetune], reported=True, dataset="synth_lt")
    probe_rows = frame[frame["protocol"] == "probe"]
    assert len(probe_rows) == 3 and probe_rows["reported_all"].isna().all()
    text = report.leaderboard_markdown(frame, "synth_lt", str(out), records + [finetune])
    assert "## Fine-tuning (the published protocol)" in text and "## Linear probe (`--protocol probe`)" in text
    probe_part = text.split("## Linear probe")[1]
    assert "protocol=probe" in probe_part and "| 1 |" in probe_part  # ranked within its own track
    # the regenerating commands: one per track, the probe's with --protocol (never as a grid)
    assert "--seeds 0 --protocol probe --grid" in text and "--grid protocol" not in text
    assert "torch thread" in text and "randomly initialised" in probe_part
    # each track has its own best cells
    best = report.best_cells(frame)
    tracks = {(p, c) for p, b in zip(frame["protocol"], best) for c in b}
    assert ("probe", "all") in tracks and ("finetune", "all") in tracks


def test_cli_protocol_option(tmp_path: Path) -> None:
    proc = cli("run", "--method", "erm", "--dataset", "synth_lt", "--protocol", "probe", "--epochs", "1", "--json",
               "--set", f"backbone={FAST['backbone']}", "--set", "neck_dim=16", "--out", str(tmp_path), env={"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert "protocol=probe" in record["variant"]
    bad = cli("run", "--method", "erm", "--dataset", "synth_lt", "--protocol", "frozen", "--epochs", "1", "--out", str(tmp_path))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "protocol='frozen'" in bad.stderr
