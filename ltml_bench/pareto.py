"""The Pareto long-tail subset builder of Wu et al. (ECCV 2020), written once for every dataset.

Procedure (PROTOCOL.md section 1):
1. Order classes by their summed co-occurrence probability, descending: score_j = sum_i P(j | i),
   P(j | i) = #(images with i and j) / #(images with i), over the whole pool (i == j included).
2. The class of rank r gets the reference count
   `int((max_count - min_count) / x_r ** (alpha + 1) + min_count)`,
   `x = linspace(1, pareto.ppf(0.99, alpha), C)` with `pareto.ppf(0.99, alpha) = 0.01 ** (-1/alpha)`.
3. Visit classes in that order; for each, while the selected set holds fewer images of the class
   than its reference, add a random unselected pool image carrying it; while it holds more,
   remove a random selected image carrying it. Later classes move earlier classes' counts (images
   carry several labels), so the final counts differ from the references.

The published subsets came from one random stream we cannot replay: the same procedure with
another seed gives another subset of the same shape (use the published id lists to reproduce
published numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

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


def pareto_subset(
    labels: np.ndarray,
    alpha: float = 6.0,
    max_count: int = 800,
    min_count: int = 1,
    seed: int = 0,
) -> ParetoSubset:
    """Draw a long-tailed subset of the pool `labels` [N, C] (multi-hot)."""
    y = np.asarray(labels).astype(bool)
    if y.ndim != 2 or y.shape[0] == 0:
        raise ValueError(f"labels must be a non-empty [N, C] matrix, got shape {y.shape}")
    n, c = y.shape
    rng = np.random.default_rng(seed)
    order = cooccurrence_order(y)
    ref_by_rank = pareto_reference_counts(c, alpha, max_count, min_count)
    reference = np.empty(c, dtype=np.int64)
    reference[order] = ref_by_rank

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
    return ParetoSubset(indices=indices, order=order, reference=reference, counts=y[indices].sum(axis=0))
