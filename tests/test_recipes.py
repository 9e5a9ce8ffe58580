"""synth_lt's recipe: the published recipe with a small backbone, its scratch alternative, the
shipped pretrained weights and how they settle with the user's options."""

from __future__ import annotations

import json

import pytest

from ltml_bench.api import resolve_config
from ltml_bench.config import TrainConfig
from ltml_bench.errors import ConfigError
from ltml_bench.recipes import DB_RESNET50, DB_RESNET50_RESAMPLED, SYNTH_LT_PRETRAINED, SYNTH_LT_PRETRAINED_RESAMPLED
from ltml_bench.registry import get_dataset, get_method
from ltml_bench.training.weights import SHIPPED, file_sha256

LT = get_dataset("synth_lt")
VOC_LT_IMAGES, VOC_LT_RESAMPLED_EPOCH = 1142, 3875  # docs/protocol.md section 3: the published sizes and iteration counts


def config(method: str = "erm", **kwargs):
    return resolve_config(get_method(method), LT, 0, **kwargs).train


def test_recipe_keeps_the_published_optimiser_and_freezing() -> None:
    for key in ("lr", "momentum", "weight_decay", "batch_size", "grad_clip", "warmup_ratio", "frozen_bn", "freeze_prefixes", "dropout"):
        assert SYNTH_LT_PRETRAINED[key] == DB_RESNET50[key], key


def test_schedules_are_the_published_ones() -> None:
    # synth_lt has VOC-LT's sizes, so the published schedules apply unshortened
    assert SYNTH_LT_PRETRAINED["epochs"] == DB_RESNET50["epochs"] == 80
    assert SYNTH_LT_PRETRAINED["lr_steps"] == DB_RESNET50["lr_steps"] == (55, 70)
    assert SYNTH_LT_PRETRAINED_RESAMPLED["epochs"] == DB_RESNET50_RESAMPLED["epochs"]
    assert SYNTH_LT_PRETRAINED_RESAMPLED["lr_steps"] == DB_RESNET50_RESAMPLED["lr_steps"]
    assert SYNTH_LT_PRETRAINED_RESAMPLED["epoch_reduce"] == TrainConfig().epoch_reduce == 4  # the published epoch length


def test_warm_up_covers_the_published_fraction_of_each_schedule() -> None:
    bundle = LT.build()
    n, top, c, batch = len(bundle.train), int(bundle.train.class_counts.max()), bundle.num_classes, 32
    uniform_iters = SYNTH_LT_PRETRAINED["epochs"] * -(-n // batch)
    resampled_iters = SYNTH_LT_PRETRAINED_RESAMPLED["epochs"] * (top * c // SYNTH_LT_PRETRAINED_RESAMPLED["epoch_reduce"]) / batch
    published_uniform = 80 * VOC_LT_IMAGES / batch
    published_resampled = 8 * VOC_LT_RESAMPLED_EPOCH / batch
    assert SYNTH_LT_PRETRAINED["warmup_iters"] / uniform_iters == pytest.approx(500 / published_uniform, rel=0.02)
    assert SYNTH_LT_PRETRAINED_RESAMPLED["warmup_iters"] / resampled_iters == pytest.approx(500 / published_resampled, rel=0.02)


def test_default_run_records_the_pinned_shipped_weights() -> None:
    train = config()
    entry = SHIPPED["synth_world-test_resnet"]
    assert train.pretrained and train.weights_file == "builtin:synth_world-test_resnet"
    assert train.weights_sha256 == entry.sha256 and train.backbone == entry.backbone
    assert train.freeze_prefixes == ("conv1", "bn1", "layer1") and train.frozen_bn
    resampled = config("hmt")
    assert (resampled.epochs, resampled.lr_steps, resampled.epoch_reduce, resampled.warmup_iters) == (8, (5, 7), 4, 505)


def test_shipped_weights_match_their_pin_and_provenance() -> None:
    for entry in SHIPPED.values():
        assert file_sha256(entry.path) == entry.sha256
        provenance = json.loads(entry.provenance.read_text())
        assert provenance["sha256"] == entry.sha256 and provenance["backbone"] == entry.backbone
        assert provenance["command"].startswith("ltml-bench pretrain --dataset synth_world")
        assert entry.path.stat().st_size < 8 * 2**20  # a few MB


def test_no_pretrained_and_other_backbones_drop_the_weights_and_the_freezing() -> None:
    for train in (config(pretrained=False), config(backbone="ltml_cifar_resnet_small")):
        assert not train.pretrained and train.weights_file == "" and train.weights_sha256 == ""
        assert train.freeze_prefixes == () and not train.frozen_bn
    kept = config(settings={"backbone": "ltml_cifar_resnet_small", "frozen_bn": "true"})
    assert kept.frozen_bn  # what the user sets explicitly stays


def test_scratch_recipe_is_the_earlier_regime() -> None:
    train = config(settings={"recipe": "scratch"})
    assert (train.recipe, train.pretrained, train.weights_file, train.lr, train.epochs, train.lr_steps) == ("scratch", False, "", 0.1, 30, (20, 27))
    assert config("hmt", settings={"recipe": "scratch"}).epochs == 10
    with pytest.raises(ConfigError, match="recipes: default, scratch"):
        config(settings={"recipe": "imagenet"})


def test_default_recipe_and_no_weights_keep_older_run_keys() -> None:
    cfg = resolve_config(get_method("erm"), LT, 0, settings={"recipe": "scratch"})
    assert "recipe" in cfg.identity()["train"]
    voc = resolve_config(get_method("erm"), get_dataset("voc_lt"), 0)
    assert "recipe" not in voc.identity()["train"] and "weights_sha256" not in voc.identity()["train"]


def test_fresh_offline_run_json_shows_the_pretrained_weights_and_digest(tmp_path) -> None:
    from conftest import cli

    # any attempt to reach a hub would fail: the endpoint is a closed local port, no proxy
    env = {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9", "HTTPS_PROXY": "", "https_proxy": ""}
    result = cli("run", "--method", "erm", "--json", "--epochs", "1", "--out", str(tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    train = json.loads(result.stdout)["config"]["train"]
    assert train["pretrained"] and train["weights_file"] == "builtin:synth_world-test_resnet"
    assert train["weights_sha256"] == SHIPPED["synth_world-test_resnet"].sha256


def test_probe_reads_the_shipped_pretrained_features(tmp_path, one_torch_thread) -> None:
    import numpy as np
    import torch

    from ltml_bench import api
    from ltml_bench.training.model import create_backbone

    record = api.run("erm", "synth_lt", 0, settings={"protocol": "probe", "batch_size": "64"}, epochs=1, out=tmp_path)
    assert record["config"]["train"]["weights_sha256"] == SHIPPED["synth_world-test_resnet"].sha256
    bundle = LT.build()
    x, _ = bundle.test.dataset.get_batch(np.arange(4), train=False)
    pretrained = create_backbone("test_resnet", False, "builtin:synth_world-test_resnet").eval()
    random = create_backbone("test_resnet", False).eval()
    with torch.no_grad():
        assert not torch.allclose(pretrained(x), random(x))  # the weights are really loaded
    assert record["probe"]  # features extracted from that backbone (tests/test_probe.py checks the cache itself)
