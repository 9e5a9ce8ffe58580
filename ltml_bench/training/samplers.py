"""Epoch orders: plain shuffling and the class-aware sampler of the DB protocol.

Class-aware re-sampling (docs/protocol.md section 3.3, Shen et al. 2016 as used by Wu et al. 2020):
draw a class from a shuffled cycle over classes (reshuffled after each full pass), then take the
next `images_per_draw` (3) images from that class's own shuffled cyclic list (reshuffled after each
pass; an image sits in the list of every class it carries). One epoch has
`max_k n_k * C / epoch_reduce` samples (`epoch_reduce` = 4: VOC-LT 3,875, COCO-LT 22,560).

Both orders are pure functions of (seed, epoch): a resumed run replays exactly the epochs it
missed. The reference code keeps its cycles running across epochs; here each epoch starts fresh
cycles from its own random stream (same statistics, exact resume). Classes with no training image
are skipped.
"""

from __future__ import annotations

import numpy as np


def epoch_rng(seed: int, epoch: int, stream: int = 0) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(epoch), int(stream), 0x17B])


def shuffled_order(num_samples: int, seed: int, epoch: int) -> np.ndarray:
    return epoch_rng(seed, epoch).permutation(num_samples)


def class_aware_epoch_length(labels: np.ndarray, epoch_reduce: int = 4) -> int:
    counts = np.asarray(labels).sum(axis=0)
    return int(counts.max() * labels.shape[1] // epoch_reduce)


class _Cycle:
    """An endless cyclic iterator over `items`, reshuffled at the start of every pass."""

    def __init__(self, items: np.ndarray, rng: np.random.Generator) -> None:
        self.items = np.asarray(items)
        self.rng = rng
        self.order = rng.permutation(self.items)
        self.pos = 0

    def take(self, n: int) -> list[int]:
        out: list[int] = []
        while len(out) < n:
            if self.pos == len(self.order):
                self.order = self.rng.permutation(self.items)
                self.pos = 0
            chunk = self.order[self.pos : self.pos + (n - len(out))]
            out.extend(int(v) for v in chunk)
            self.pos += len(chunk)
        return out


def class_aware_order(
    labels: np.ndarray,
    seed: int,
    epoch: int,
    images_per_draw: int = 3,
    epoch_reduce: int = 4,
    num_samples: int | None = None,
) -> np.ndarray:
    """Indices of one class-aware epoch ([num_samples], default `class_aware_epoch_length`)."""
    y = np.asarray(labels).astype(bool)
    rng = epoch_rng(seed, epoch, stream=1)
    present = np.flatnonzero(y.any(axis=0))
    if len(present) == 0:
        raise ValueError("class-aware sampling needs at least one labelled training image")
    total = class_aware_epoch_length(y, epoch_reduce) if num_samples is None else int(num_samples)
    class_cycle = _Cycle(present, rng)
    image_cycles = {int(k): _Cycle(np.flatnonzero(y[:, k]), rng) for k in present}
    out: list[int] = []
    while len(out) < total:
        k = class_cycle.take(1)[0]
        out.extend(image_cycles[k].take(images_per_draw))
    return np.asarray(out[:total], dtype=np.int64)
