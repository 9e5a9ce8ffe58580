"""Per-class average precision, optionally weighted or for many bootstrap resamples at once.

AP is the non-interpolated definition of `sklearn.metrics.average_precision_score`:
AP = sum_n (R_n - R_{n-1}) P_n over the distinct score thresholds (tied scores form one
threshold, whose precision is read at the last index of the run of ties).

The cost is one sort of the score matrix plus linear work, on CPU and CUDA alike (one torch code
path; only the sort primitive differs, see `_sort_descending`).
The classes are processed in a few blocks (at least `_MIN_BLOCKS`, each at most `_BLOCK_ELEMENTS`
scores), so the temporaries stay a fraction of the score matrix; there is no Python loop over
single classes. Per block: one sort of the transposed [classes, N] slab along the images
(`torch.sort`; on the CPU NumPy's vectorised sort of packed keys, `_sort_descending`),
the targets gathered in that order, a comparison of neighbours for ties, and scans for the
positives and the tied indices. Everything else visits only the positives (`_Positives`): the
end of each positive's run of tied scores, the positives counted up to it, and a per-class sum of
the precisions. Weighted AP and bootstrap resamples reuse the block's one sort: the weights are
gathered in sorted order and cumulated along the images, one chunk of resamples at a time.

A class without positives (or without positive weight) in the evaluated set has undefined AP
(NaN): it is counted and reported, and left out of the means it cannot enter.
"""

from __future__ import annotations

from typing import Any

# scores in one block of classes ([classes, N] slab): bounds the temporaries (about 16 bytes per
# score of a block: its transposed copy, the sorted values, the int64 order, gathered targets);
# a chunk of resamples holds about twice as many gathered and cumulated weights
_BLOCK_ELEMENTS = {"cpu": 1 << 21, "cuda": 1 << 25}
_MIN_BLOCKS = 4  # a matrix that fits one block is still split in (up to) 4: memory over speed


def average_precision(scores: Any, targets: Any, sample_weight: Any = None) -> Any:
    """Per-class AP of scores [N, C] against binary targets [N, C] (nonzero = positive).

    `sample_weight`:
    - None: plain AP, returns a float64 tensor [C];
    - a 1-D [N] tensor / array of non-negative finite weights: weighted AP (as scikit-learn's
      `average_precision_score(y, s, sample_weight=w)`), returns [C];
    - a 2-D [R, N] tensor / array of non-negative integer counts (bootstrap resamples: row r says
      how often each image is drawn): the AP of every resample, returns [R, C]; all resamples
      reuse the one sort of the scores and are processed in chunks, so the temporaries stay a few
      times the size of a [N, classes-block] slab (never R x N x C).

    NaN where a class has no positive (no positive weight, for a resample: no positive drawn).
    Accepts torch tensors or numpy arrays; the result is float64 on the scores' device. Scores are
    sorted in their own dtype (float16 / bfloat16 / float32 / float64; a tie stays a tie, as in
    scikit-learn); integer or bool scores are read as float64. NaN scores raise ValueError.
    """
    import torch

    s, y = _as_matrices(scores, targets)
    n, c = s.shape
    w = _as_weights(sample_weight, n, c, s.device)
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
    if y.dtype != torch.bool:
        y = y != 0  # one byte per entry: its blocks transpose cheaply
    return s, y.to(s.device)


def _as_weights(sample_weight: Any, n: int, classes: int, device: Any) -> Any:
    """None, float64 [N] weights, or integer [R, N] counts (int32 when no running sum over a block's
    positives, at most `classes` x a row's total, can pass 2^31)."""
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
    if w.numel() == 0 or int(w.sum(1).max()) * max(classes, 1) < 2**31:
        w = w.to(torch.int32)
    return w


def _block_width(n: int, c: int, device: Any) -> int:
    """Classes per block: at most `_BLOCK_ELEMENTS` scores, and at least `_MIN_BLOCKS` blocks."""
    budget = _BLOCK_ELEMENTS["cuda" if device.type == "cuda" else "cpu"]
    return max(1, min(-(-c // _MIN_BLOCKS), budget // max(n, 1)))


_KEY_TYPES = {2: "int16", 4: "int32", 8: "int64"}


def _sort_keys(s: Any) -> Any:
    """Integers that order (and tie) exactly as the float scores `s` (a copy: modified in place).

    The float's bits read as a signed integer order non-negative floats; for negative ones all
    bits but the sign are flipped. -0.0 is first made +0.0 (the two are equal scores), and NaN is
    refused. Integer sorts are markedly faster than float sorts in torch (no NaN-aware compare).
    """
    import torch

    bits = s.add_(0.0).view(getattr(torch, _KEY_TYPES[s.element_size()]))
    top = torch.iinfo(bits.dtype).max
    inf_key = int(torch.tensor(float("inf"), dtype=s.dtype).view(bits.dtype))
    keys = torch.where(bits < 0, bits ^ top, bits)
    if bool(((keys > inf_key) | (keys < -inf_key - 1)).any()):
        raise ValueError("scores contain NaN: average precision needs a score for every image")
    return keys


def _sort_descending(keys: Any) -> tuple[Any, Any]:
    """`torch.sort(keys, dim=1, descending=True)` of integer keys [k, N]: the sorted keys and the
    int64 order (the order within a run of equal keys is free: AP reads a tie at its run's end).

    On CUDA, and for 64-bit keys, it is `torch.sort`. For 16- and 32-bit keys on the CPU it is one
    value sort of packed 64-bit integers, `(~key) << 32 | image index`, by NumPy (zero-copy views of
    the same memory): its vectorised sort (x86-simd-sort on AVX2 / AVX-512 CPUs) sorts such a slab
    several times faster than `torch.sort` of the keys, and the packed values carry the order, so
    no arg-sort is needed. The result is the same up to the order inside runs of equal keys.
    """
    import numpy as np
    import torch

    n = keys.shape[1]
    if keys.device.type != "cpu" or keys.element_size() > 4 or n >= 2**31:
        return torch.sort(keys, dim=1, descending=True)
    packed = torch.bitwise_not(keys).to(torch.int64).bitwise_left_shift_(32)
    packed.add_(torch.arange(n, dtype=torch.int64))
    flat = packed.numpy()
    flat.sort(axis=1)  # in place, ascending: descending keys, then ascending image index
    order = packed & 0xFFFFFFFF
    vals = packed.bitwise_right_shift_(32)  # ~key: ordered and tied exactly as the keys
    return vals, order


def _ap_block(s: Any, y: Any, w: Any, out: Any) -> None:
    """AP of one block of classes (scores and targets [N, k]) into `out` [R, k].

    Dense work (over the k x N slab): the transpose, the sort, the gathered targets, the run ends
    of tied scores, and for weights the cumulative weight in sorted order (one resample chunk at a
    time). Everything else runs over the positives only (`_Positives`).
    """
    import torch

    n = s.shape[0]
    vals, order = _sort_descending(_sort_keys(s.t().clone(memory_format=torch.contiguous_format)))  # [k, N]
    ys = torch.gather(y.t().contiguous(), 1, order)
    tied = torch.empty_like(ys)
    torch.eq(vals[:, :-1], vals[:, 1:], out=tied[:, :-1])
    tied[:, -1] = False
    del vals
    pos = _Positives(ys, tied)
    del ys, tied
    if w is None:
        out[0] = pos.average_precision(None, None).squeeze(1)
        return
    order = order.flatten()
    weights = w[None, :] if w.ndim == 1 else w  # [R, N]
    per = max(1, _BLOCK_ELEMENTS["cuda" if s.device.type == "cuda" else "cpu"] * 2 // max(order.numel(), 1))
    for r0 in range(0, weights.shape[0], per):
        wt = weights[r0 : r0 + per].t().contiguous()  # [N, r]: one gathered row per index holds all r resamples
        cum = torch.cumsum(wt.index_select(0, order).view(-1, n, wt.shape[1]), 1, dtype=wt.dtype).view(-1, wt.shape[1])
        out[r0 : r0 + per] = pos.average_precision(wt.index_select(0, order[pos.flat]), cum.index_select(0, pos.end)).t()


class _Positives:
    """The positives of a sorted block: where they are, and where the run of tied scores holding
    each one ends (its precision is read there, as scikit-learn does)."""

    def __init__(self, ys: Any, tied: Any) -> None:
        """`ys`: sorted targets, bool [k, N]; `tied`: bool [k, N], True where the next score in the
        row is equal (never at a row's last index)."""
        import torch

        n = ys.shape[1]
        self.flat = torch.nonzero(ys.flatten()).squeeze(1)  # grouped by class, by rank inside a class
        self.count = ys.sum(1, dtype=torch.int64)  # [k]
        self.start = torch.cumsum(self.count, 0) - self.count  # first positive of each class in `flat`
        self.row = torch.repeat_interleave(torch.arange(ys.shape[0], device=ys.device), self.count)
        self.end = self.flat.clone()  # without ties every positive is its own run end
        self.upto = torch.arange(1, self.flat.numel() + 1, device=ys.device)  # positives at or before the end
        self._move_tied_ends(torch.nonzero(tied.flatten()).squeeze(1))
        self.rank = self.end - self.row * n + 1  # images at or above the run end (unweighted)

    def _move_tied_ends(self, tied: Any) -> None:
        """Positives followed by a tie: their run ends one past the last index of their group of
        consecutive tied indices (sparse work: only tied indices are visited)."""
        import torch

        m = tied.numel()
        if m == 0:
            return
        group_last = torch.nonzero(tied[1:] != tied[:-1] + 1).squeeze(1)
        group_last = torch.cat([group_last, group_last.new_full((1,), m - 1)])
        run_end = tied[group_last[torch.searchsorted(group_last, torch.arange(m, device=tied.device))]] + 1
        at = torch.searchsorted(tied, self.flat).clamp_(max=m - 1)
        hit = tied[at] == self.flat
        self.end[hit] = run_end[at[hit]]
        self.upto[hit] = torch.searchsorted(self.flat, self.end[hit], right=True)

    def average_precision(self, weight: Any, cum_weight: Any) -> Any:
        """AP [k, r]: `weight` [P, r] of each positive, `cum_weight` [P, r] the cumulative weight
        in sorted order at its run end (both None: every weight 1).

        AP * P = sum over positives i of w_i * tp(end_i) / cw(end_i), with tp the cumulative
        positive weight, summed class by class (`segment_reduce`: no atomics, so CUDA is
        deterministic, and a class's value does not depend on the block it is in).
        """
        import torch

        if weight is None:
            tp = (self.upto - self.start[self.row]).to(torch.float64)[:, None]
            contrib = tp / self.rank.to(torch.float64)[:, None]
            totals = self.count.to(torch.float64)[:, None]
        else:
            zero = torch.zeros((1, weight.shape[1]), dtype=weight.dtype, device=weight.device)
            tp_cum = torch.cat([zero, torch.cumsum(weight, 0, dtype=weight.dtype)])  # [P + 1, r]
            base = tp_cum[self.start]  # [k, r]
            tp = (tp_cum[self.upto] - base[self.row]).to(torch.float64)
            totals = (tp_cum[self.start + self.count] - base).to(torch.float64)
            contrib = weight.to(torch.float64) * tp / cum_weight.to(torch.float64).clamp_min(1e-300)
        ap = torch.segment_reduce(contrib, "sum", lengths=self.count, axis=0) / totals
        return torch.where(totals > 0, ap, torch.full_like(ap, float("nan")))
