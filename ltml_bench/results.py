"""Run folders and result records.

A run folder `<runs>/<dataset>/<method>/seed<seed>-<config key>/` holds:
- `config.json`  the fully resolved configuration (written when the run starts),
- `env.json`     versions of the package, Python, torch, timm, numpy and the device,
- `log.txt`      one line per epoch,
- `checkpoint.pt` the state after the last finished epoch (for `--resume`),
- `scores.npz`   test scores (image ids x classes) of the final model,
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

from ltml_bench.data import atomic_write_bytes

RESULT_FILE = "result.json"
RECORD_VERSION = 1


def write_json(path: Path, payload: Any) -> None:
    text = json.dumps(payload, indent=2, sort_keys=False, allow_nan=False, default=_json_default)
    atomic_write_bytes(path, (text + "\n").encode())


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def environment(device: str) -> dict[str, Any]:
    import numpy
    import timm
    import torch

    from ltml_bench import __version__

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
