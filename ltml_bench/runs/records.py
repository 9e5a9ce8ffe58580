"""Run folders and result records.

A run folder `<runs>/<dataset>/<method>/seed<seed>-<config key>/` holds:
- `config.json`  the fully resolved configuration (written when the run starts),
- `env.json`     versions of the package, Python, torch, timm, numpy and the device,
- `log.txt`      one line per epoch,
- `checkpoint.pt` the state after the last finished epoch (for `--resume`),
- `scores.npz`   test scores (image ids x classes) of the final model, and the test labels,
- `result.json`  the result record, written last: a folder without it is unfinished.
Every file is written atomically (temporary file + rename), so a crash at any moment leaves
either the old file or the new one, never a half-written one that the reporter would read.
"""

from __future__ import annotations

import json
import math
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator


RESULT_FILE = "result.json"
RECORD_VERSION = 2  # 2: `intervals` (bootstrap intervals of head/middle/tail/all) and test labels in scores.npz


def environment(device: str) -> dict[str, Any]:
    import numpy
    import timm
    import torch

    from ltml_bench._version import __version__

    info: dict[str, Any] = {
        "ltml_bench": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "timm": timm.__version__,
        "numpy": numpy.__version__,
        "device": device,
        "torch_threads": torch.get_num_threads(),
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["device_name"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    else:
        info["device_name"] = platform.processor() or platform.machine()
    return info


def build_record(spec: Any, bundle: Any, config: Any, report: Any, rule: Any, train_seconds: float, device: str) -> dict[str, Any]:
    """The result record of a finished run (`RECORD_VERSION`): what it ran, its per-class AP and
    group mAPs, the group rule, the counts, the fully resolved configuration and the environment."""
    from ltml_bench.config import to_jsonable

    counts = bundle.train.class_counts
    return {
        "record_version": RECORD_VERSION,
        "method": spec.name,
        "method_title": spec.title,
        "dataset": bundle.name,
        "seed": config.seed,
        "variant": config.variant(),
        "config_key": config.key(),
        "map": report.map,
        "groups": report.groups,
        "group_rule": report.rule,
        "group_rule_text": rule.describe(),
        "class_names": bundle.class_names,
        "per_class_ap": report.per_class_ap,
        "train_counts": counts.tolist(),
        "test_positive_counts": bundle.test.class_counts.tolist(),
        "classes_without_test_positives": [bundle.class_names[i] for i in report.classes_without_positives],
        "num_train_images": len(bundle.train),
        "num_test_images": len(bundle.test),
        "train_seconds": round(train_seconds, 3),
        "config": to_jsonable(config),
        "dataset_info": to_jsonable(bundle.info),
        "env": environment(device),
    }


def run_folder(runs: Path, dataset: str, method: str, seed: int, key: str) -> Path:
    return runs / dataset / method / f"seed{seed}-{key}"


@dataclass
class LoadedRecord:
    path: Path
    record: dict[str, Any]


@dataclass
class SkippedRun:
    path: Path
    reason: str


def _valid_record(record: Any) -> str | None:
    if not isinstance(record, dict):
        return "not a JSON object"
    for key in ("method", "dataset", "seed", "map"):
        if key not in record:
            return f"missing {key!r}"
    if not isinstance(record["map"], dict) or not all(g in record["map"] for g in ("head", "middle", "tail", "all")):
        return "map lacks head/middle/tail/all"
    for value in record["map"].values():
        if value is not None and (not isinstance(value, (int, float)) or math.isnan(float(value))):
            return "map holds a non-number"
    return None


def scan_runs(runs: Path) -> tuple[list[LoadedRecord], list[SkippedRun]]:
    """Every finished record under `runs`, and the folders skipped (unfinished or corrupt) with why."""
    loaded: list[LoadedRecord] = []
    skipped: list[SkippedRun] = []
    seen_dirs: set[Path] = set()
    for result in sorted(runs.rglob(RESULT_FILE)):
        seen_dirs.add(result.parent)
        try:
            record = json.loads(result.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            skipped.append(SkippedRun(result.parent, f"corrupt {RESULT_FILE} ({type(exc).__name__})"))
            continue
        if isinstance(record, dict) and record.get("eval_split", "test") != "test":
            continue  # a validation run of hyper-parameter selection (`ltml-bench sweep --select-on val`)
        problem = _valid_record(record)
        if problem:
            skipped.append(SkippedRun(result.parent, f"invalid {RESULT_FILE}: {problem}"))
            continue
        loaded.append(LoadedRecord(result.parent, record))
    for config in sorted(runs.rglob("config.json")):
        if config.parent not in seen_dirs and "_selection" not in config.relative_to(runs).parts:
            skipped.append(SkippedRun(config.parent, "unfinished (no result.json)"))
    return loaded, skipped


def iter_records(runs: Path) -> Iterator[dict[str, Any]]:
    for item in scan_runs(runs)[0]:
        yield item.record


LOCK_FILE = ".lock"  # in a run folder: held (`data.FileLock`) while a process trains that run
