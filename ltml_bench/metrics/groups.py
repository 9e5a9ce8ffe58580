"""Head / middle / tail mAP.

Groups come from TRAINING counts n_k with `GroupRule` (default: head n >= 100,
middle 20 <= n < 100, tail n < 20, the rule of the published split files).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

from ltml_bench.metrics.ap import average_precision

GROUPS = ("head", "middle", "tail")


@dataclass(frozen=True)
class GroupRule:
    """head: n >= head_min; middle: tail_below <= n < head_min; tail: n < tail_below."""

    head_min: int = 100
    tail_below: int = 20

    def __post_init__(self) -> None:
        if self.tail_below > self.head_min:
            raise ValueError(f"tail_below ({self.tail_below}) must not exceed head_min ({self.head_min})")

    def assign(self, train_counts: Sequence[int] | np.ndarray) -> dict[str, list[int]]:
        counts = np.asarray(train_counts)
        return {
            "head": [int(i) for i in np.flatnonzero(counts >= self.head_min)],
            "middle": [int(i) for i in np.flatnonzero((counts >= self.tail_below) & (counts < self.head_min))],
            "tail": [int(i) for i in np.flatnonzero(counts < self.tail_below)],
        }

    def describe(self) -> str:
        return f"head n>={self.head_min}, middle {self.tail_below}<=n<{self.head_min}, tail n<{self.tail_below} (training counts)"

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _nanmean(values: Sequence[float]) -> float | None:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.mean(finite)) if finite else None


@dataclass
class GroupReport:
    """mAP (in percent) per group and overall, with the classes that had no test positive."""

    map: dict[str, float | None]
    groups: dict[str, list[int]]
    per_class_ap: list[float | None]
    classes_without_positives: list[int]
    rule: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def group_report(scores: Any, targets: Any, train_counts: Sequence[int] | np.ndarray, rule: GroupRule | None = None) -> GroupReport:
    """Per-class AP, then mAP for head / middle / tail / all, in percent."""
    rule = rule or GroupRule()
    ap = average_precision(scores, targets).cpu().numpy()
    groups = rule.assign(train_counts)
    maps: dict[str, float | None] = {}
    for name in GROUPS:
        value = _nanmean([float(ap[i]) for i in groups[name]])
        maps[name] = None if value is None else 100.0 * value
    overall = _nanmean([float(v) for v in ap])
    maps["all"] = None if overall is None else 100.0 * overall
    return GroupReport(
        map=maps,
        groups=groups,
        per_class_ap=[None if math.isnan(v) else float(v) for v in ap],
        classes_without_positives=[int(i) for i in np.flatnonzero(np.isnan(ap))],
        rule=rule.as_dict(),
    )
