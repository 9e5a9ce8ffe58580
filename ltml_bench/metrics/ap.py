"""Per-class average precision.

AP is the non-interpolated definition of `sklearn.metrics.average_precision_score`:
AP = sum_n (R_n - R_{n-1}) P_n over the distinct score thresholds (tied scores form one
threshold). It is computed for all classes at once (numpy on CPU, torch on CUDA): sort each
class's scores, count positives cumulatively, read precision at the last position of each run of
tied scores.
A class without positives in the evaluated set has undefined AP (NaN): it is counted and reported,
and left out of the means it cannot enter.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def average_precision(scores: Any, targets: Any) -> Any:
    """Per-class AP of scores [N, C] against binary targets [N, C]; NaN where a class has no positive.

    Accepts torch tensors or numpy arrays; returns a float64 torch tensor [C] on the input's device.
    Scores are sorted in their own dtype (a float32 tie stays a tie, as in scikit-learn). The order
    inside a run of tied scores does not matter (precision is read at the run's end), so the sort
    need not be stable. CPU inputs go through numpy (its argsort is several times faster than
    torch's on CPU); CUDA inputs stay on the device.
    """
    import torch

    s = torch.as_tensor(scores)
    y = torch.as_tensor(targets)
    if s.ndim == 1:
        s, y = s[:, None], y[:, None]
    if s.shape != y.shape or s.ndim != 2:
        raise ValueError(f"scores {tuple(s.shape)} and targets {tuple(y.shape)} must both be [N, C]")
    if not s.is_floating_point():
        s = s.to(torch.float64)
    n, c = s.shape
    if n == 0:
        return torch.full((c,), float("nan"), dtype=torch.float64, device=s.device)
    if s.device.type == "cpu":
        if s.dtype in (torch.float16, torch.bfloat16):
            s = s.float()
        ap = _average_precision_numpy(s.detach().t().contiguous().numpy(), (y.detach().t() != 0).cpu().numpy())
        return torch.from_numpy(ap)
    return _average_precision_torch(s.detach().t().contiguous(), (y.detach().t() != 0).to(s.device))


def _average_precision_numpy(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """AP of scores [C, N] (float) against bool targets [C, N], one row per class.

    Classes are sorted row by row and then handled as one flat sequence: a running count of
    positives over the whole sequence gives, at the end of each run of tied scores, the positives
    in that run (difference to the previous run end; a row's first run follows the previous row's
    last element, which is always a run end) and, less the row's offset, the true positives so far.
    AP_k = sum over the run ends of row k of (positives in run) * precision / positives of k.
    """
    c, n = s.shape
    order = np.argsort(-s, axis=1)
    s_sorted = np.take_along_axis(s, order, axis=1)
    y_sorted = np.take_along_axis(y, order, axis=1)
    is_last = np.ones((c, n), dtype=bool)
    np.not_equal(s_sorted[:, :-1], s_sorted[:, 1:], out=is_last[:, :-1])
    running = np.cumsum(y_sorted.ravel(), dtype=np.int64)
    end_pos = np.flatnonzero(is_last.ravel())
    tp_running = running[end_pos]
    in_run = np.diff(tp_running, prepend=0)
    row = end_pos // n
    rank = end_pos - row * n + 1
    totals = running[n - 1 :: n]
    positives = np.diff(totals, prepend=0)
    offsets = totals - positives
    tp = tp_running - offsets[row]
    ap = np.bincount(row, weights=in_run * (tp / rank), minlength=c)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(positives > 0, ap / positives, np.nan)


def _average_precision_torch(s: Any, y: Any) -> Any:
    """The same computation as `_average_precision_numpy` in torch (for CUDA tensors)."""
    import torch

    c, n = s.shape
    sorted_scores, order = torch.sort(s, dim=1, descending=True)
    y_sorted = torch.gather(y, 1, order)
    is_last = torch.ones((c, n), dtype=torch.bool, device=s.device)
    is_last[:, :-1] = sorted_scores[:, :-1] != sorted_scores[:, 1:]
    running = torch.cumsum(y_sorted.flatten(), 0, dtype=torch.int64)
    end_pos = torch.nonzero(is_last.flatten()).squeeze(1)
    tp_running = running[end_pos]
    in_run = torch.diff(tp_running, prepend=tp_running.new_zeros(1))
    row = torch.div(end_pos, n, rounding_mode="floor")
    rank = end_pos - row * n + 1
    totals = running[n - 1 :: n]
    positives = torch.diff(totals, prepend=totals.new_zeros(1))
    tp = tp_running - (totals - positives)[row]
    contrib = in_run.to(torch.float64) * (tp.to(torch.float64) / rank.to(torch.float64))
    # a deterministic per-row sum: cumulative sum, read at each row's last element (always a run end)
    cum = torch.cumsum(contrib, 0)
    row_end = cum[(end_pos % n) == n - 1]
    ap = torch.diff(row_end, prepend=row_end.new_zeros(1))
    pos = positives.to(torch.float64)
    return torch.where(pos > 0, ap / pos, torch.full_like(ap, float("nan")))
