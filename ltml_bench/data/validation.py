"""A validation split carved from the long-tailed TRAINING set, for hyper-parameter selection.

Selection never looks at the test set: `validation_bundle(bundle)` returns a bundle whose training
split is the training set less the validation images and whose "test" split is the validation
images. It works for any dataset (it only needs the training labels and, for the images, either a
`TensorImages`-like store with `get_batch` or any map-style Dataset).

`carve_validation` assigns images iteratively, rarest class first, with a fixed seed: each class
with n_k >= 2 training images sends round(fraction * n_k) of them (at least 1, at most n_k - 1) to
validation, never taking an image whose move would leave some class with n >= 2 without a
training image; a class with a single image keeps it in training (it then has no validation
positive and its validation AP is undefined, left out of the means). Random further images
(subject to the same rule) fill the validation set up to `fraction` of all training images.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

VAL_FRACTION = 0.2
VAL_SEED = 20240601


def carve_validation(labels: np.ndarray, fraction: float = VAL_FRACTION, seed: int = VAL_SEED) -> tuple[np.ndarray, np.ndarray]:
    """(train indices, validation indices), both sorted; see the module docstring."""
    y = np.asarray(labels).astype(bool)
    n, c = y.shape
    if not 0 < fraction < 1:
        raise ValueError(f"validation fraction {fraction} must be in (0, 1)")
    rng = np.random.default_rng(seed)
    counts = y.sum(axis=0)
    in_val = np.zeros(n, dtype=bool)
    val_counts = np.zeros(c, dtype=np.int64)

    def movable(i: int) -> bool:
        classes = np.flatnonzero(y[i])
        # a class keeps >= 1 training image; a single-image class keeps its image
        return bool(np.all(counts[classes] - val_counts[classes] >= 2))

    def move(i: int) -> None:
        in_val[i] = True
        val_counts[y[i]] += 1

    for k in np.argsort(counts, kind="stable"):
        if counts[k] < 2:
            continue
        target = int(min(counts[k] - 1, max(1, round(fraction * counts[k]))))
        for i in rng.permutation(np.flatnonzero(y[:, k] & ~in_val)):
            if val_counts[k] >= target:
                break
            if movable(int(i)):
                move(int(i))
    total = int(round(fraction * n))
    for i in rng.permutation(np.flatnonzero(~in_val)):
        if in_val.sum() >= total:
            break
        if movable(int(i)):
            move(int(i))
    return np.flatnonzero(~in_val), np.flatnonzero(in_val)


class _IndexedStore:
    """A view of an in-memory store (with `get_batch`) restricted to `indices`."""

    def __init__(self, base: Any, indices: np.ndarray) -> None:
        self.base = base
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.base[int(self.indices[index])]

    def prepare(self, progress: Any = None) -> Any:
        return self.base.prepare(progress) if hasattr(self.base, "prepare") else None

    def to(self, device: Any) -> "_IndexedStore":
        if hasattr(self.base, "to"):
            self.base.to(device)
        return self

    def get_batch(self, indices: Sequence[int] | Any, train: bool, generator: Any = None) -> Any:
        return self.base.get_batch(self.indices[np.asarray(indices, dtype=np.int64)], train=train, generator=generator)


def _subset(split: Any, indices: np.ndarray) -> Any:
    from ltml_bench.data.interface import Split

    if hasattr(split.dataset, "get_batch"):
        dataset = _IndexedStore(split.dataset, indices)
    else:
        import torch

        dataset = torch.utils.data.Subset(split.dataset, [int(i) for i in indices])
    return Split([split.ids[int(i)] for i in indices], split.labels[indices], dataset)


def validation_bundle(bundle: Any, fraction: float = VAL_FRACTION, seed: int = VAL_SEED) -> tuple[Any, dict[str, Any]]:
    """(bundle with train = train less validation and test = validation, a description)."""
    from ltml_bench.data.interface import DatasetBundle

    train_idx, val_idx = carve_validation(bundle.train.labels, fraction, seed)
    info = dict(bundle.info)
    info["validation"] = {"fraction": fraction, "seed": seed, "num_train": int(len(train_idx)), "num_val": int(len(val_idx))}
    carved = DatasetBundle(bundle.name, list(bundle.class_names), _subset(bundle.train, train_idx), _subset(bundle.train, val_idx), info)
    return carved, info["validation"]
