"""The harness through the Python API: determinism, resume, records, the long-tail effect."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import FAST

import ltml_bench
from ltml_bench.config import TrainConfig
from ltml_bench.errors import ConfigError, UserError
from ltml_bench.training.schedule import batches, lr_at


def _run(out: Path, **kwargs):
    settings = dict(FAST)
    settings.update(kwargs.pop("settings", {}))
    return ltml_bench.run(kwargs.pop("method", "erm"), "synth_lt", kwargs.pop("seed", 0), settings=settings,
                          epochs=kwargs.pop("epochs", 2), out=out, **kwargs)


def test_same_seed_gives_identical_metrics(tmp_path: Path) -> None:
    a = _run(tmp_path / "a")
    b = _run(tmp_path / "b")
    assert a["map"] == b["map"]
    assert a["per_class_ap"] == b["per_class_ap"]
    c = _run(tmp_path / "c", seed=1)
    assert c["map"] != a["map"]


def test_record_and_run_folder_contents(tmp_path: Path) -> None:
    record = _run(tmp_path, method="hmt", settings={"bootstrap_resamples": "200"})  # default 1000; fewer keep it cheap
    run_dirs = list((tmp_path / "synth_lt" / "hmt").iterdir())
    assert len(run_dirs) == 1
    files = {p.name for p in run_dirs[0].iterdir()}
    assert {"config.json", "env.json", "log.txt", "checkpoint.pt", "scores.npz", "result.json"} <= files
    stored = json.loads((run_dirs[0] / "result.json").read_text())
    assert stored["map"] == record["map"]
    assert set(stored["map"]) == {"head", "middle", "tail", "all"}
    assert stored["group_rule"] == {"head_min": 100, "tail_below": 20}
    assert len(stored["per_class_ap"]) == 20 and len(stored["train_counts"]) == 20
    assert stored["env"]["torch"] and stored["env"]["timm"] and stored["env"]["ltml_bench"]
    assert stored["config"]["train"]["sampler"] == "class_aware"  # HMT-Net trains with re-sampling
    assert stored["config"]["head_params"]["lam"] == 2.0
    config = json.loads((run_dirs[0] / "config.json").read_text())
    assert config["seed"] == 0 and config["train"]["backbone"] == FAST["backbone"]
    scores = np.load(run_dirs[0] / "scores.npz")
    assert scores["scores"].shape == (2000, 20) and len(scores["ids"]) == 2000
    assert scores["labels"].shape == (2000, 20) and scores["labels"].sum() > 0  # the test labels, for compare
    intervals = stored["intervals"]
    assert intervals["resamples"] == 200 and intervals["level"] == 0.95 and TrainConfig().bootstrap_resamples == 1000
    assert set(intervals["map"]) == {"head", "middle", "tail", "all"}
    for group, (low, high) in intervals["map"].items():
        assert 0.0 <= low < high <= 100.0, group
    # the same numbers from the stored scores, through the pure function
    from ltml_bench.metrics.intervals import BootstrapSettings, run_intervals

    again = run_intervals(scores["scores"], scores["labels"], stored["groups"], BootstrapSettings(resamples=200))
    assert again["map"] == intervals["map"]
    assert len((run_dirs[0] / "log.txt").read_text().splitlines()) == 2


def test_interval_settings_are_not_part_of_the_run_key(tmp_path: Path) -> None:
    from ltml_bench.config import RunConfig

    plain = RunConfig("erm", "synth_lt", 0, TrainConfig())
    other = RunConfig("erm", "synth_lt", 0, TrainConfig(bootstrap_resamples=0, ci_level=0.9),
                      overrides={"bootstrap_resamples": 0, "ci_level": 0.9})
    assert plain.key() == other.key() and other.variant() == "default"
    record = _run(tmp_path, epochs=1, settings={"bootstrap_resamples": "0"})
    assert "intervals" not in record
    with pytest.raises(ConfigError, match="ci_level"):
        _run(tmp_path / "bad", epochs=1, settings={"ci_level": "95"})


def test_finished_run_is_reused_unless_overwrite(tmp_path: Path) -> None:
    first = _run(tmp_path)
    again = _run(tmp_path)
    assert again.get("reused") is True and again["map"] == first["map"]
    fresh = _run(tmp_path, overwrite=True)
    assert not fresh.get("reused") and fresh["map"] == first["map"]


class _Stop(Exception):
    pass


def test_resume_after_interruption_matches_uninterrupted(tmp_path: Path) -> None:
    full = _run(tmp_path / "full", epochs=3, method="hmt")

    seen = []

    def stop_in_second_epoch(phase: str, done: int, total: int) -> None:
        seen.append(done)
        if done == total // 3 + 5:  # a few steps into epoch 2: epoch 1 is checkpointed
            raise _Stop()

    with pytest.raises(_Stop):
        _run(tmp_path / "cut", epochs=3, method="hmt", progress=stop_in_second_epoch)
    run_dir = next((tmp_path / "cut" / "synth_lt" / "hmt").iterdir())
    assert not (run_dir / "result.json").exists()
    resumed = _run(tmp_path / "cut", epochs=3, method="hmt", resume=True)
    assert resumed["map"] == full["map"]
    assert resumed["per_class_ap"] == full["per_class_ap"]


def test_resume_refuses_a_checkpoint_of_another_configuration(tmp_path: Path) -> None:
    import shutil

    _run(tmp_path / "a", epochs=1)
    src = next((tmp_path / "a" / "synth_lt" / "erm").iterdir())
    # a run with another lr lands in another folder; plant the foreign checkpoint there
    from ltml_bench.api import resolve_config
    from ltml_bench.registry import get_dataset, get_method

    cfg = resolve_config(get_method("erm"), get_dataset("synth_lt"), 0, {**FAST, "lr": "0.01"}, epochs=1)
    target = tmp_path / "b" / "synth_lt" / "erm" / f"seed0-{cfg.key()}"
    target.mkdir(parents=True)
    shutil.copy(src / "checkpoint.pt", target / "checkpoint.pt")
    with pytest.raises(UserError, match="another configuration"):
        _run(tmp_path / "b", epochs=1, settings={"lr": "0.01"}, resume=True)


def test_bad_settings_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown key"):
        _run(tmp_path, settings={"learning_rate": "0.1"})
    with pytest.raises(ConfigError, match="not a valid float"):
        _run(tmp_path, settings={"lr": "fast"})
    with pytest.raises(ConfigError, match="sampler"):
        _run(tmp_path, settings={"sampler": "magic"})
    assert not (tmp_path / "synth_lt").exists()


def test_head_with_wrong_class_count_is_caught_before_training(tmp_path: Path) -> None:
    from ltml_bench.registry import METHODS, MethodSpec

    METHODS.register(MethodSpec(name="wrong_head", title="wrong", paper="test", summary="test", loss="erm",
                                head="tests_helpers_wrong_head:WrongHead"), origin="test")
    import sys
    import types

    import torch

    module = types.ModuleType("tests_helpers_wrong_head")

    class WrongHead(torch.nn.Module):
        def __init__(self, in_features, num_classes, class_counts=None):
            super().__init__()
            self.fc = torch.nn.Linear(in_features, num_classes - 1)

        def forward(self, x):
            return self.fc(x)

    module.WrongHead = WrongHead
    sys.modules["tests_helpers_wrong_head"] = module
    try:
        with pytest.raises(UserError, match=r"expected logits of shape \(2, 20\)"):
            _run(tmp_path, method="wrong_head")
    finally:
        METHODS.unregister("wrong_head")
        sys.modules.pop("tests_helpers_wrong_head")


def test_lr_schedule_warmup_and_steps() -> None:
    cfg = TrainConfig(lr=0.02, warmup_iters=500, warmup_ratio=1 / 3, lr_steps=(5, 7))
    assert lr_at(cfg, 0, 0) == pytest.approx(0.02 / 3)
    assert lr_at(cfg, 0, 250) == pytest.approx(0.02 * (1 / 3 + (2 / 3) * 0.5))
    assert lr_at(cfg, 1, 500) == pytest.approx(0.02)
    assert lr_at(cfg, 5, 10_000) == pytest.approx(0.002)
    assert lr_at(cfg, 7, 10_000) == pytest.approx(0.0002)


def test_batches_never_leave_a_single_image() -> None:
    sizes = [len(b) for b in batches(np.arange(65), 32)]
    assert sizes == [32, 32]
    assert [len(b) for b in batches(np.arange(66), 32)] == [32, 32, 2]


def test_erm_tail_clearly_below_head_over_three_seeds(tmp_path: Path) -> None:
    """The effect the benchmark measures is present in the embedded data (issue contract): ERM's
    tail mAP is far below its head mAP. Measured on the default recipe's linear probe (the shipped
    pretrained backbone's features, extracted once; a few seconds per seed): the leaderboard's
    probe ERM has head 77 and tail 24, fine-tuned ERM head 85 and tail 21."""
    maps = [ltml_bench.run("erm", "synth_lt", s, settings={"protocol": "probe", "bootstrap_resamples": 100}, out=tmp_path)["map"]
            for s in range(3)]
    head = np.mean([m["head"] for m in maps])
    tail = np.mean([m["tail"] for m in maps])
    assert head - tail > 15.0, (head, tail)
