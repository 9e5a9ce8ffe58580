"""The Pareto long-tail subset builder of Wu et al. (ECCV 2020), written once for every dataset.

Procedure (docs/protocol.md section 3.1):
1. Order classes by their summed co-occurrence probability, descending: score_j = sum_i P(j | i),
   P(j | i) = #(images with i and j) / #(images with i), over the whole pool (i == j included).
2. The class of rank r gets the reference count
   `int((max_count - min_count) / x_r ** (alpha + 1) + min_count)`,
   `x = linspace(1, pareto.ppf(0.99, alpha), C)` with `pareto.ppf(0.99, alpha) = 0.01 ** (-1/alpha)`.
3. Visit classes in that order; for each, while the selected set holds fewer images of the class
   than its reference, add a random unselected pool image carrying it; while it holds more,
   remove a random selected image carrying it. Later classes move earlier classes' counts (images
   carry several labels), so the final counts differ from the references. As in the DB tool, the
   deficit (or excess) is computed once at the visit and drawn in one sample; when fewer
   candidates exist than needed, all of them are taken (the DB tool's COCO variant).

Random streams (`stream=`):
- "python" (the faithful reading): the DB tool's own stream. The original script seeds Python's
  `random` with 0 and, for each class, draws with `random.sample` from the *set* of candidate pool
  rows (unselected carriers to add; selected carriers to remove), the set taken in CPython's
  iteration order (`tuple(set)`, what `random.sample` did with a set up to Python 3.10), and keeps
  the selection in a set. Re-created here with `random.Random(seed)` and the same set operations,
  seed 0 on the VOC2012 trainval pool (rows in `trainval.txt` order, difficult objects counted)
  reproduces the published VOC-LT list EXACTLY: the same 1,142 ids, in the same order as
  `img_id.txt` (`ParetoSubset.selection_order`), counts max 775 / min 4. The set iteration order
  is CPython's (checked on 3.11); the drawn subset only needs `random.Random` (stable since 3.2).
- "numpy" (the default, kept so that existing generated data, e.g. synth_lt, does not change):
  the same procedure with `numpy.random.default_rng(seed)` permutations of the sorted candidate
  rows. Same distribution of subsets, different stream.

Neither stream tightens the spread across seeds: the final counts of the early (head) classes move
with every later addition or removal, and that spread is a property of the procedure itself, not
of a misreading. On the VOC pool over 40 seeds, person ends at 751-808 (std 15) with the
"python" stream and 739-821 (std 17) with "numpy" (published: 775, which seed 0 of the "python"
stream reproduces); 1,109-1,194 images; groups 6 / 6 / 8 (about 3 seeds in 4) or 5 / 7 / 8.
Another seed gives another subset of the same shape: use the published id lists (or the "python"
stream with seed 0, VOC only checked) to reproduce published numbers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np


def pareto_reference_counts(num_classes: int, alpha: float = 6.0, max_count: int = 800, min_count: int = 1) -> np.ndarray:
    """Reference count of the class of each rank (rank 0 gets `max_count`)."""
    if num_classes < 1:
        raise ValueError("num_classes must be >= 1")
    if alpha <= 0:
        raise ValueError("alpha must be > 0")
    if max_count < min_count:
        raise ValueError("max_count must be >= min_count")
    ppf99 = 0.01 ** (-1.0 / alpha)
    x = np.linspace(1.0, ppf99, num_classes)
    return ((max_count - min_count) / x ** (alpha + 1) + min_count).astype(np.int64)


def cooccurrence_order(labels: np.ndarray) -> np.ndarray:
    """Class indices by descending summed conditional probability sum_i P(j | i) (stable ties)."""
    y = np.asarray(labels, dtype=np.float64)
    counts = y.sum(axis=0)
    joint = y.T @ y  # [C, C]: joint[i, j] = #(i and j)
    with np.errstate(divide="ignore", invalid="ignore"):
        cond = np.where(counts[:, None] > 0, joint / counts[:, None], 0.0)  # cond[i, j] = P(j | i)
    score = cond.sum(axis=0)
    return np.argsort(-score, kind="stable")


@dataclass
class ParetoSubset:
    indices: np.ndarray  # selected pool rows, sorted
    order: np.ndarray  # class visiting order
    reference: np.ndarray  # reference count per class (indexed by class, not rank)
    counts: np.ndarray  # final count per class
    # selected pool rows in the order the DB tool writes them (its set's iteration order) for
    # stream="python"; equal to `indices` for stream="numpy"
    selection_order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def pareto_subset(
    labels: np.ndarray,
    alpha: float = 6.0,
    max_count: int = 800,
    min_count: int = 1,
    seed: int = 0,
    stream: str = "numpy",
) -> ParetoSubset:
    """Draw a long-tailed subset of the pool `labels` [N, C] (multi-hot).

    `stream` picks the random stream: "numpy" (default) or "python" (the DB tool's own, which
    replays the published VOC-LT list with seed 0; see the module docstring).
    """
    y = np.asarray(labels).astype(bool)
    if y.ndim != 2 or y.shape[0] == 0:
        raise ValueError(f"labels must be a non-empty [N, C] matrix, got shape {y.shape}")
    if stream not in ("numpy", "python"):
        raise ValueError(f"stream={stream!r}: must be 'numpy' or 'python'")
    n, c = y.shape
    order = cooccurrence_order(y)
    ref_by_rank = pareto_reference_counts(c, alpha, max_count, min_count)
    reference = np.empty(c, dtype=np.int64)
    reference[order] = ref_by_rank
    if stream == "python":
        chosen = _python_stream(y, order, reference, int(seed))
        indices = np.asarray(sorted(chosen), dtype=np.int64)
        return ParetoSubset(indices=indices, order=order, reference=reference, counts=y[indices].sum(axis=0),
                            selection_order=np.asarray(chosen, dtype=np.int64))

    rng = np.random.default_rng(seed)
    selected = np.zeros(n, dtype=bool)
    counts = np.zeros(c, dtype=np.int64)
    for k in order:
        target = reference[k]
        carriers = np.flatnonzero(y[:, k])
        if counts[k] < target:
            candidates = carriers[~selected[carriers]]
            take = rng.permutation(candidates)[: target - counts[k]]
            selected[take] = True
            counts += y[take].sum(axis=0)
        elif counts[k] > target:
            candidates = carriers[selected[carriers]]
            drop = rng.permutation(candidates)[: counts[k] - target]
            selected[drop] = False
            counts -= y[drop].sum(axis=0)
    indices = np.flatnonzero(selected)
    return ParetoSubset(indices=indices, order=order, reference=reference, counts=y[indices].sum(axis=0), selection_order=indices.copy())


def _python_stream(y: np.ndarray, order: np.ndarray, reference: np.ndarray, seed: int) -> list[int]:
    """The DB tool's selection loop on Python sets with `random.Random(seed)`; rows in set order."""
    rnd = random.Random(seed)
    n, c = y.shape
    carriers = [[int(i) for i in np.flatnonzero(y[:, k])] for k in range(c)]
    row_classes = [np.flatnonzero(y[i]).tolist() for i in range(n)]
    held: list[set[int]] = [set() for _ in range(c)]  # selected rows carrying each class
    selected: set[int] = set()
    counts = np.zeros(c, dtype=np.int64)
    for k in order:
        k = int(k)
        need = int(reference[k] - counts[k])
        if need < 0:
            for t in rnd.sample(tuple(held[k]), -need):
                selected.remove(t)
                counts[row_classes[t]] -= 1
                for g in row_classes[t]:
                    held[g].remove(t)
        elif need > 0:
            candidates = set(carriers[k]) - held[k]
            for t in rnd.sample(tuple(candidates), min(need, len(candidates))):
                selected.add(t)
                counts[row_classes[t]] += 1
                for g in row_classes[t]:
                    held[g].add(t)
    return list(selected)
