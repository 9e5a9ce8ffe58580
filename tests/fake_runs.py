"""Fake finished runs (result.json + scores.npz) from a simulated score model, for the interval,
comparison and table tests: no training, a few milliseconds per run.

Score model: class k has prevalence `prevalence[k]` in the test images; a run scores image i for
class k as `separation[k] * y_ik + N(0, 1)`, so its AP grows with the separation. A method is a
base separation per class; a training seed shifts it by `seed_sd` (one shift per seed and class).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ltml_bench.metrics import GroupRule, group_report

TRAIN_COUNTS = np.array([400, 250, 150, 110, 80, 50, 30, 22, 15, 10, 6, 4])  # head 4, middle 4, tail 4
PREVALENCE = np.linspace(0.30, 0.06, len(TRAIN_COUNTS))


def labels(rng: np.random.Generator, n: int, prevalence: np.ndarray = PREVALENCE) -> np.ndarray:
    """[n, C] bool test labels; every class has at least one positive."""
    y = rng.random((n, len(prevalence))) < prevalence
    for k in range(y.shape[1]):
        if not y[:, k].any():
            y[rng.integers(n), k] = True
    return y


def scores(rng: np.random.Generator, y: np.ndarray, separation: np.ndarray) -> np.ndarray:
    return (separation[None, :] * y + rng.standard_normal(y.shape)).astype(np.float32)


def seed_separation(base: np.ndarray, seed_sd: float, method_seed: int) -> np.ndarray:
    """The separation of one training seed of a method: base + N(0, seed_sd) per class."""
    return base + seed_sd * np.random.default_rng(method_seed).standard_normal(base.shape)


def write_run(root: Path, dataset: str, method: str, seed: int, s: np.ndarray, y: np.ndarray, variant: str = "default",
              train_counts: np.ndarray = TRAIN_COUNTS, with_labels: bool = True, protocol: str = "finetune",
              dataset_options: dict[str, Any] | None = None, ids: list[str] | None = None) -> Path:
    """A finished run folder as the harness writes it (the record fields the reporter reads)."""
    rule = GroupRule()
    report = group_report(s, y, train_counts, rule)
    folder = root / dataset / method / f"seed{seed}-{variant.replace('=', '_').replace(' ', '_')}"
    folder.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, Any] = {"ids": np.asarray(ids or [f"img{i}" for i in range(len(y))]), "scores": s,
                              "class_names": np.asarray([f"c{k}" for k in range(y.shape[1])])}
    if with_labels:
        arrays["labels"] = y.astype(np.uint8)
    np.savez_compressed(folder / "scores.npz", **arrays)
    record = {
        "record_version": 2, "method": method, "method_title": method.upper(), "dataset": dataset, "seed": seed,
        "variant": variant, "config_key": "fake", "map": report.map, "groups": report.groups, "group_rule": report.rule,
        "group_rule_text": rule.describe(), "class_names": [f"c{k}" for k in range(y.shape[1])],
        "per_class_ap": report.per_class_ap, "train_counts": [int(c) for c in train_counts],
        "num_test_images": len(y), "train_seconds": 1.0,
        "config": {"train": {"protocol": protocol}, "dataset_options": dataset_options or {}, "overrides": {}},
        "env": {"device": "cpu", "torch_threads": 1},
    }
    (folder / "result.json").write_text(json.dumps(record))
    return folder


def write_method(root: Path, dataset: str, method: str, seeds: list[int], y: np.ndarray, base: np.ndarray, seed_sd: float,
                 method_key: int, **kwargs: Any) -> None:
    """Runs of one method for `seeds` on the test labels `y` (reproducible from `method_key`)."""
    for seed in seeds:
        separation = seed_separation(base, seed_sd, 1000 * method_key + seed)
        rng = np.random.default_rng(7919 * method_key + seed)
        write_run(root, dataset, method, seed, scores(rng, y, separation), y, **kwargs)
