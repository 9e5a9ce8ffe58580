"""`ltml-bench pretrain` (ltml_bench.training.pretrain) and weight files (ltml_bench.training.weights)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from conftest import cli
from ltml_bench.errors import ConfigError, UserError
from ltml_bench.registry import get_dataset
from ltml_bench.training.pretrain import PretrainJob, checkpoint_path, pretrain, provenance_path
from ltml_bench.training.weights import file_sha256, load_state

TINY = {"train_size": "160", "test_size": "80", "batch_size": "32", "warmup_iters": "2"}


def job(out: Path, epochs: int = 1, resume: bool = False, **extra: str) -> PretrainJob:
    return PretrainJob(get_dataset("synth_world"), out, seed=0, backbone="test_resnet", epochs=epochs, threads=1,
                       settings={**TINY, **extra}, command="test", resume=resume)


def test_writes_safetensors_and_provenance_deterministically(tmp_path: Path, one_torch_thread) -> None:
    record = pretrain(job(tmp_path / "a.safetensors"))
    again = pretrain(job(tmp_path / "b.safetensors"))
    assert record["sha256"] == file_sha256(tmp_path / "a.safetensors") == again["sha256"]
    saved = json.loads(provenance_path(tmp_path / "a.safetensors").read_text())
    assert saved["sha256"] == record["sha256"] and saved["objective"] == "ce" and saved["threads"] == 1
    assert saved["test_score"]["name"] == "top1_accuracy" and 0 <= saved["test_score"]["value"] <= 100
    assert {"torch", "timm", "ltml_bench", "numpy", "safetensors"} <= set(saved["versions"])
    state = load_state(tmp_path / "a.safetensors")
    assert "conv1.0.weight" in state and not any(k.startswith("fc.") for k in state)  # backbone only
    assert not checkpoint_path(tmp_path / "a.safetensors").exists()  # removed once the weights are written


def test_resumed_run_ends_with_the_uninterrupted_weights(tmp_path: Path, one_torch_thread) -> None:
    whole = pretrain(job(tmp_path / "whole.safetensors", epochs=2))
    out = tmp_path / "killed.safetensors"
    steps_per_epoch = 160 // 32

    def kill(phase: str, done: int, total: int) -> None:
        if done > steps_per_epoch:  # the first step of epoch 2: epoch 1 is checkpointed
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        pretrain(job(out, epochs=2), progress=kill)
    assert checkpoint_path(out).exists() and not out.exists()
    resumed = pretrain(job(out, epochs=2, resume=True))
    assert resumed["sha256"] == whole["sha256"]
    assert resumed["iterations"] == whole["iterations"] == 2 * steps_per_epoch


def test_multi_label_data_pretrains_with_bce_and_reports_map(tmp_path: Path, one_torch_thread) -> None:
    spec = get_dataset("synth_lt")
    record = pretrain(PretrainJob(spec, tmp_path / "lt.safetensors", backbone="ltml_cifar_resnet_small", epochs=1, threads=1,
                                  settings={"batch_size": "64"}))
    assert record["objective"] == "bce" and record["test_score"]["name"] == "map"
    with pytest.raises(ConfigError, match="objective=ce"):
        pretrain(PretrainJob(spec, tmp_path / "x.safetensors", backbone="ltml_cifar_resnet_small", epochs=1,
                             settings={"objective": "ce"}))


def test_bad_options_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=".safetensors"):
        pretrain(job(tmp_path / "w.pt"))
    with pytest.raises(ConfigError, match="unknown key"):
        pretrain(job(tmp_path / "w.safetensors", freeze_prefixes="conv1"))
    (tmp_path / "w.safetensors.ckpt").write_bytes(b"garbage")
    with pytest.raises(UserError, match="unreadable"):
        pretrain(job(tmp_path / "w.safetensors", resume=True))


def test_weights_that_do_not_fit_the_backbone_are_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    from ltml_bench.training.model import create_backbone

    path = tmp_path / "wrong.safetensors"
    save_file({"conv1.0.weight": torch.zeros(3)}, str(path))
    with pytest.raises(UserError, match="does not fit backbone 'test_resnet'"):
        create_backbone("test_resnet", False, str(path))
    (tmp_path / "junk.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(UserError, match="not a readable safetensors"):
        create_backbone("test_resnet", False, str(tmp_path / "junk.safetensors"))


def test_cli_pretrain_output_is_accepted_by_run(tmp_path: Path) -> None:
    weights = tmp_path / "W.safetensors"
    made = cli("pretrain", "--dataset", "synth_world", "--backbone", "test_resnet", "--out", str(weights), "--threads", "1",
               "--set", "epochs=1", *[f"--set={k}={v}" for k, v in TINY.items()])
    assert made.returncode == 0, made.stderr
    digest = file_sha256(weights)
    assert json.loads(weights.with_suffix(".json").read_text())["command"].startswith("ltml-bench pretrain --dataset synth_world")
    result = cli("run", "--method", "erm", "--epochs", "1", "--json", "--out", str(tmp_path / "runs"),
                 "--set", f"weights_file={weights}", "--set", "epoch_reduce=16")
    assert result.returncode == 0, result.stderr
    record = json.loads(next((tmp_path / "runs").rglob("result.json")).read_text())
    train = record["config"]["train"]
    assert train["weights_file"] == str(weights) and train["weights_sha256"] == digest and train["pretrained"]
