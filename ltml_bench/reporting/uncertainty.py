"""Runs on shared bootstrap resamples: the inputs of intervals, comparisons and tie marks.

A finished run's `scores.npz` holds its test scores (and, since record version 2, the test labels;
for older runs the labels are rebuilt from the dataset named in the record, with the record's
dataset options, and checked against the stored image ids). Every run of a dataset is evaluated on
the same resamples of its test images (`metrics.intervals.resample_counts` of the number of test
images, the count and the seed), which pairs the methods image by image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ltml_bench.errors import UserError
from ltml_bench.metrics.intervals import INTERVAL_GROUPS, BootstrapSettings, method_interval, resample_counts, resampled_group_maps
from ltml_bench.runs.records import LoadedRecord

SCORES_FILE = "scores.npz"


@dataclass
class RunSamples:
    """One run: its seed, its group mAPs on the full test set, and on each shared resample ([R])."""

    seed: int
    point: dict[str, float | None]
    resampled: dict[str, np.ndarray]


class Resampler:
    """Loads runs' scores and evaluates them on the shared resamples of `settings`.

    Resample counts are made once per test-set size; rebuilt test labels once per dataset and
    options; each run's resampled group mAPs once per run folder, and kept in the cache folder
    (`$LTML_BENCH_CACHE/intervals/`, keyed by the scores file's content, the groups and the
    resamples), so a second `table` or `compare` reads them back.
    """

    def __init__(self, settings: BootstrapSettings) -> None:
        if settings.resamples < 2:
            raise UserError(f"--resamples {settings.resamples}: intervals and tests need at least 2 resamples (1000 is the default)")
        self.settings = settings
        self._counts: dict[int, np.ndarray] = {}
        self._labels: dict[str, tuple[list[str], np.ndarray]] = {}
        self._runs: dict[Path, RunSamples] = {}

    def counts(self, num_images: int) -> np.ndarray:
        if num_images not in self._counts:
            self._counts[num_images] = resample_counts(num_images, self.settings.resamples, self.settings.seed)
        return self._counts[num_images]

    def samples(self, item: LoadedRecord) -> RunSamples:
        """The run's samples, or a `UserError` naming the folder and what is missing."""
        if item.path not in self._runs:
            record = item.record
            groups = {g: [int(i) for i in record.get("groups", {}).get(g, [])] for g in INTERVAL_GROUPS[:3]}
            point = {g: record["map"].get(g) for g in INTERVAL_GROUPS}
            self._runs[item.path] = RunSamples(int(record["seed"]), point, self._cached_maps(item, groups))
        return self._runs[item.path]

    def _cached_maps(self, item: LoadedRecord, groups: dict[str, list[int]]) -> dict[str, np.ndarray]:
        """The run's resampled group mAPs, from the cache folder when this scores.npz (by content),
        these groups and these resamples were evaluated before; else computed and stored there."""
        import hashlib

        from ltml_bench.storage.cache import cache_dir, cached_arrays, stable_hash

        try:
            digest = hashlib.sha256((item.path / SCORES_FILE).read_bytes()).hexdigest()
        except OSError:
            digest = ""
        settings = self.settings

        def make() -> dict[str, np.ndarray]:
            scores, labels = self.arrays(item)
            return resampled_group_maps(scores, labels, groups, self.counts(scores.shape[0]))

        if not digest:
            return make()  # arrays() names the problem
        key = stable_hash("resampled-group-maps-1", digest, settings.resamples, settings.seed, sorted(groups.items()))
        target = cache_dir() / "intervals" / f"{key}.npz"
        try:
            maps = cached_arrays(target, make)
        except OSError:  # a read-only cache folder: compute, keep nothing
            maps = make()
        if set(maps) != {*INTERVAL_GROUPS} or any(v.shape != (settings.resamples,) for v in maps.values()):
            target.unlink(missing_ok=True)  # not what this key stores: never trusted
            maps = make()
        return maps

    def arrays(self, item: LoadedRecord) -> tuple[np.ndarray, np.ndarray]:
        """(scores [N, C], labels [N, C] bool) of a run folder."""
        path = item.path / SCORES_FILE
        try:
            with np.load(path, allow_pickle=False) as data:
                scores = np.asarray(data["scores"], dtype=np.float32)
                ids = [str(i) for i in data["ids"]]
                labels = np.asarray(data["labels"]) != 0 if "labels" in data.files else None
        except FileNotFoundError:
            raise UserError(f"{item.path}: no {SCORES_FILE}; intervals and tests need the run's test scores (re-run it)") from None
        except (OSError, ValueError, KeyError) as exc:
            raise UserError(f"{path}: unreadable ({type(exc).__name__}: {exc}); re-run the run to rewrite it") from None
        if labels is None:
            labels = self._rebuilt_labels(item, ids)
        if scores.ndim != 2 or labels.shape != scores.shape or not np.isfinite(scores).all():
            raise UserError(f"{path}: scores {scores.shape} and labels {labels.shape} must be one finite [N, C] pair")
        return scores, labels

    def _rebuilt_labels(self, item: LoadedRecord, ids: list[str]) -> np.ndarray:
        """Test labels of an old run (its scores.npz has none), from its dataset, in `ids` order."""
        from ltml_bench.registry import get_dataset

        record = item.record
        options = dict(record.get("config", {}).get("dataset_options", {}))
        key = f"{record['dataset']}|{sorted(options.items())!r}"
        if key not in self._labels:
            try:
                bundle = get_dataset(str(record["dataset"])).build(**options)
            except UserError as exc:
                raise UserError(f"{item.path}: its {SCORES_FILE} has no labels and the dataset cannot be rebuilt ({exc})") from None
            self._labels[key] = (list(bundle.test.ids), np.asarray(bundle.test.labels) != 0)
        test_ids, labels = self._labels[key]
        position = {i: k for k, i in enumerate(test_ids)}
        if len(ids) != len(test_ids) or any(i not in position for i in ids):
            raise UserError(f"{item.path}: the ids of {SCORES_FILE} are not the test split of {record['dataset']!r} rebuilt now")
        return labels[[position[i] for i in ids]]


def by_seed(items: list[LoadedRecord]) -> list[LoadedRecord]:
    """One record per seed (the last one found wins, as in the tables), in seed order."""
    chosen: dict[int, LoadedRecord] = {}
    for item in items:
        chosen[int(item.record["seed"])] = item
    return [chosen[s] for s in sorted(chosen)]


@dataclass
class MethodSamples:
    """A method's runs (one per seed) on the shared resamples."""

    runs: list[RunSamples] = field(default_factory=list)

    def points(self, group: str) -> dict[int, float | None]:
        return {r.seed: r.point.get(group) for r in self.runs}

    def resampled(self, group: str) -> np.ndarray:
        return np.stack([r.resampled[group] for r in self.runs])

    def interval(self, group: str, settings: BootstrapSettings) -> tuple[float | None, float | None]:
        if not self.runs or all(v is None or (isinstance(v, float) and math.isnan(v)) for v in self.points(group).values()):
            return None, None
        finite = [float(v) for v in self.points(group).values() if v is not None and math.isfinite(v)]
        return method_interval(self.resampled(group), settings.level, settings.seed, float(np.mean(finite)))


def method_samples(resampler: Resampler, items: list[LoadedRecord]) -> MethodSamples:
    return MethodSamples([resampler.samples(item) for item in by_seed(items)])


def record_intervals(record: dict[str, Any]) -> dict[str, list[float | None]] | None:
    """The per-run intervals stored in a record, or None (a record written before they existed)."""
    entry = record.get("intervals")
    if isinstance(entry, dict) and isinstance(entry.get("map"), dict):
        return entry["map"]
    return None
