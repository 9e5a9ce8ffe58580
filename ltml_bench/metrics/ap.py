"""Per-class average precision, optionally weighted or for many bootstrap resamples at once.

AP is the non-interpolated definition of `sklearn.metrics.average_precision_score`:
AP = sum_n (R_n - R_{n-1}) P_n over the distinct score thresholds (tied scores form one
threshold, whose precision is read at the last index of the run of ties).

The cost is one sort of the score matrix plus linear work, on CPU and CUDA alike (torch only):
the scores are sorted along the images for a block of classes at once (`torch.sort` of a
[classes, N] slab), the targets (and weights) are gathered in that order, and cumulative
true-positive and total weights give the precision at every position. The classes are processed
in a few blocks (at most four on small matrices, more when a block would pass
`_BLOCK_ELEMENTS`), so the temporaries stay a fraction of the score matrix; there is no Python
loop over single classes. Weighted AP and bootstrap resamples reuse the block's one sort.

A class without positives (or without positive weight) in the evaluated set has undefined AP
(NaN): it is counted and reported, and left out of the means it cannot enter.
"""

from __future__ import annotations

from typing import Any

# elements of one block of classes ([classes, N] slab): bounds the temporaries (about 30 bytes
# per element of a block: sorted scores, int64 order, gathered targets, counts, contributions)
_BLOCK_ELEMENTS = {"cpu": 1 << 21, "cuda": 1 << 25}
_MAX_BLOCKS_SMALL = 4  # a matrix that fits one block is still split in up to 4 (memory over speed)


def average_precision(scores: Any, targets: Any, sample_weight: Any = None) -> Any:
    """Per-class AP of scores [N, C] against binary targets [N, C] (nonzero = positive).

    `sample_weight`:
    - None: plain AP, returns a float64 tensor [C];
    - a 1-D [N] tensor / array of non-negative finite weights: weighted AP (as scikit-learn's
      `average_precision_score(y, s, sample_weight=w)`), returns [C];
    - a 2-D [R, N] tensor / array of non-negative integer counts (bootstrap resamples: row r says
      how often each image is drawn): the AP of every resample, returns [R, C]; all resamples
      reuse the one sort of the scores and are processed in chunks, so the temporaries stay a few
      times the size of a [N, classes-block] slab.

    NaN where a class has no positive (no positive weight, for a resample: no positive drawn).
    Accepts torch tensors or numpy arrays; the result is float64 on the scores' device. Scores are
    sorted in their own dtype (float16 / bfloat16 / float32 / float64; a tie stays a tie, as in
    scikit-learn); integer or bool scores are read as float64. NaN scores raise ValueError.
    """
    import torch

    s, y = _as_matrices(scores, targets)
    n, c = s.shape
    w = _as_weights(sample_weight, n, s.device)
    rows = 1 if w is None or w.ndim == 1 else w.shape[0]
    out = torch.full((rows, c), float("nan"), dtype=torch.float64, device=s.device)
    if n > 0 and rows > 0:
        width = _block_width(n, c, s.device)
        for c0 in range(0, c, width):
            _ap_block(s[:, c0 : c0 + width], y[:, c0 : c0 + width], w, out[:, c0 : c0 + width])
    return out if w is not None and w.ndim == 2 else out[0]


def _as_matrices(scores: Any, targets: Any) -> tuple[Any, Any]:
    import torch

    s = torch.as_tensor(scores).detach()
    y = torch.as_tensor(targets).detach()
    if s.ndim == 1 and y.ndim == 1:
        s, y = s[:, None], y[:, None]
    if s.shape != y.shape or s.ndim != 2:
        raise ValueError(f"scores {tuple(s.shape)} and targets {tuple(y.shape)} must both be [N, C]")
    if not s.is_floating_point():
        s = s.to(torch.float64)
    return s, y.to(s.device)


def _as_weights(sample_weight: Any, n: int, device: Any) -> Any:
    """None, float64 [N] weights, or integer [R, N] counts (int32 when every row sums below 2^31)."""
    import torch

    if sample_weight is None:
        return None
    w = torch.as_tensor(sample_weight).detach().to(device)
    if w.ndim not in (1, 2) or w.shape[-1] != n:
        raise ValueError(f"sample_weight {tuple(w.shape)} must be [N] weights or [R, N] resample counts, N = {n}")
    if w.ndim == 1:
        w = w.to(torch.float64)
        if not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
            raise ValueError("sample_weight must be finite and non-negative")
        return w
    if w.is_floating_point():
        if not bool(torch.isfinite(w).all()) or not bool((w == w.round()).all()):
            raise ValueError("[R, N] sample_weight holds resample counts: whole numbers >= 0")
    w = w.to(torch.int64)
    if bool((w < 0).any()):
        raise ValueError("[R, N] sample_weight holds resample counts: whole numbers >= 0")
    if w.numel() == 0 or int(w.sum(1).max()) < 2**31:
        w = w.to(torch.int32)
    return w


def _block_width(n: int, c: int, device: Any) -> int:
    """Classes per block: at most `_BLOCK_ELEMENTS` elements, and at least `_MAX_BLOCKS_SMALL` blocks."""
    budget = _BLOCK_ELEMENTS["cuda" if device.type == "cuda" else "cpu"]
    return max(1, min(-(-c // _MAX_BLOCKS_SMALL), budget // max(n, 1)))


def _ap_block(s: Any, y: Any, w: Any, out: Any) -> None:
    """AP of one block of classes (scores and targets [N, k]) into `out` [R, k]."""
    import torch

    vals, order = torch.sort(s.t().contiguous(), dim=1, descending=True)  # [k, N]
    if bool(torch.isnan(vals[:, 0]).any()):  # torch sorts NaN above everything
        raise ValueError("scores contain NaN: average precision needs a score for every image")
    ys = torch.gather((y != 0).t(), 1, order)
    is_last = torch.ones_like(ys)
    torch.ne(vals[:, :-1], vals[:, 1:], out=is_last[:, :-1])
    del vals
    ends = None if bool(is_last.all()) else is_last  # None: no ties in this block (the common case)
    if w is None:
        out[0] = _ap_sorted(ys, None, ends)
    elif w.ndim == 1:
        out[0] = _ap_sorted(ys, w[order], ends)
    else:
        per = max(1, _BLOCK_ELEMENTS["cuda" if s.device.type == "cuda" else "cpu"] // max(ys.numel(), 1))
        for r0 in range(0, w.shape[0], per):
            out[r0 : r0 + per] = _ap_sorted(ys, w[r0 : r0 + per][:, order], ends)


def _ap_sorted(ys: Any, w: Any, ends: Any) -> Any:
    """AP per row from targets sorted by descending score (bool [k, N]) and weights in that order.

    `w`: None (every weight 1), float64 [k, N] or integer [R, k, N]; `ends`: None when no score is
    tied, else bool [k, N], True at the last index of each run of tied scores. With tp the
    cumulative positive weight and cw the cumulative weight, AP * P = sum over run ends e of
    (tp_e - tp at the previous run end) * tp_e / cw_e; without ties every index is a run end and
    the gain is the index's own positive weight.
    """
    import torch

    n = ys.shape[-1]
    if w is None:
        gain = ys
        tp = torch.cumsum(ys, -1, dtype=torch.int32 if n < 2**31 else torch.int64)
        cw = torch.arange(1, n + 1, device=ys.device, dtype=torch.float64)
    else:
        gain = torch.where(ys, w, torch.zeros((), dtype=w.dtype, device=w.device))
        tp = torch.cumsum(gain, -1)
        cw = torch.cumsum(w, -1).clamp_min_(1 if not w.is_floating_point() else 1e-300)
    if ends is not None:
        gain = torch.where(ends, tp, torch.zeros((), dtype=tp.dtype, device=tp.device))
        before = torch.cummax(gain, -1).values  # tp at the last run end at or before each index
        gain[..., 1:] -= before[..., :-1]  # at a run end: the positive weight of its run
        gain.masked_fill_(~ends, 0)
        del before
    positives = tp[..., -1].to(torch.float64, copy=True)
    contrib = tp.to(torch.float64, copy=True).mul_(gain).div_(cw)  # 0 wherever the gain is 0 (cw >= tp there)
    ap = contrib.sum(-1).div_(positives)
    return torch.where(positives > 0, ap, torch.full_like(ap, float("nan")))
