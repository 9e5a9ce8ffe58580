"""Per-class average precision and head / middle / tail mAP.

AP is the non-interpolated definition of `sklearn.metrics.average_precision_score`:
AP = sum_n (R_n - R_{n-1}) P_n over the distinct score thresholds (tied scores form one
threshold). It is computed for all classes at once in torch: sort each column, cumulative
true/false positives, precision read at the last position of each run of tied scores.
A class without positives in the evaluated set has undefined AP (NaN): it is counted and reported,
and left out of the means it cannot enter.

Groups come from TRAINING counts n_k with `GroupRule` (default: head n >= 100,
middle 20 <= n < 100, tail n < 20, the rule of the published split files).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

GROUPS = ("head", "middle", "tail")


def average_precision(scores: Any, targets: Any) -> Any:
    """Per-class AP of scores [N, C] against binary targets [N, C]; NaN where a class has no positive.

    Accepts torch tensors or numpy arrays; returns a float64 torch tensor [C] on the input's device.
    """
    import torch

    s = torch.as_tensor(scores)
    y = torch.as_tensor(targets)
    if s.ndim == 1:
        s, y = s[:, None], y[:, None]
    if s.shape != y.shape or s.ndim != 2:
        raise ValueError(f"scores {tuple(s.shape)} and targets {tuple(y.shape)} must both be [N, C]")
    s = s.to(torch.float64)
    y = y.to(device=s.device, dtype=torch.float64)
    n = s.shape[0]
    if n == 0:
        return torch.full((s.shape[1],), float("nan"), dtype=torch.float64, device=s.device)
    sorted_scores, order = torch.sort(s, dim=0, descending=True, stable=True)
    y_sorted = torch.gather(y, 0, order)
    tp = torch.cumsum(y_sorted, dim=0)
    rank = torch.arange(1, n + 1, device=s.device, dtype=torch.float64).unsqueeze(1)
    precision = tp / rank
    # last index of each run of tied scores: where the next score differs (or the end)
    is_last = torch.ones_like(sorted_scores, dtype=torch.bool)
    is_last[:-1] = sorted_scores[:-1] != sorted_scores[1:]
    positions = torch.arange(n, device=s.device).unsqueeze(1).expand_as(s)
    run_end = torch.where(is_last, positions, torch.full_like(positions, n - 1))
    run_end = torch.flip(torch.cummin(torch.flip(run_end, [0]), dim=0).values, [0])
    precision_at_run_end = torch.gather(precision, 0, run_end)
    positives = y.sum(dim=0)
    ap = (y_sorted * precision_at_run_end).sum(dim=0) / positives
    return torch.where(positives > 0, ap, torch.full_like(ap, float("nan")))


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
