"""The one dataset interface every builder returns, and the in-memory image store.

A builder (a `DatasetSpec.build` registered in `ltml_bench.registry.DATASETS`, called as
`build(**options)`) returns a `DatasetBundle`: class names, the training and test splits as
`Split`s (ids, multi-hot labels, and a dataset of `(image, target)` pairs), and provenance.
Splits whose images fit in memory use `TensorImages`, which the harness batches directly (no
per-sample collate): the fast path for small images. Splits over image files use
`ltml_bench.data.realdata.image_split` (decode-once store, the recipe's augmentation).

The harness reads only what is documented here: the training split's labels (for the groups,
the sampler and the losses' class counts), the test split's labels (for AP), `class_names`, and
batches of images from `Split.dataset`. `build_bundle(spec, options)` calls a builder and checks
what it returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class Split:
    """One split of a dataset.

    Attributes:
        ids: one string per image, unique within the split (file stems, COCO ids, "train_00042").
            Prediction files (`ltml-bench evaluate`) and `scores.npz` are keyed by the test ids.
        labels: [N, C] multi-hot array (converted to uint8; N == len(ids), C == number of classes),
            row i for image ids[i], column k for class_names[k]. An all-zero row is allowed.
        dataset: the images, in the same order: either an object with
            `get_batch(indices, train, generator) -> (float images [B, 3, H, W], float targets [B, C])`
            (`TensorImages`, the image store), or any torch `Dataset` whose item i is
            `(image tensor [3, H, W], target [C])`, already augmented when it is a training split.
            H and W should equal the recipe's `image_size` unless the backbone pools globally.

    `class_counts` (training positives per class) is what the groups, losses and sampler use.
    """

    ids: list[str]
    labels: np.ndarray
    dataset: Any  # torch.utils.data.Dataset; TensorImages for in-memory data

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.uint8)
        if self.labels.ndim != 2 or self.labels.shape[0] != len(self.ids):
            raise ValueError(f"labels shape {self.labels.shape} does not match {len(self.ids)} ids")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def class_counts(self) -> np.ndarray:
        return self.labels.sum(axis=0).astype(np.int64)


@dataclass
class DatasetBundle:
    """What `build(**options)` returns.

    Attributes:
        name: the dataset key (the spec's `name`).
        class_names: C class names, in label-column order.
        train: the training `Split` (its counts define head / middle / tail).
        test: the test `Split`; every class should have a test positive (a class without one has
            undefined AP: it is reported and left out of the means).
        info: provenance stored in every result record (`dataset_info`): file paths, seeds,
            split choices; JSON-able values only.
    """

    name: str
    class_names: list[str]
    train: Split
    test: Split
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def build_bundle(spec: Any, options: dict[str, Any]) -> DatasetBundle:
    """`spec.build(**options)`, checked: anything but a `DatasetBundle` is one line naming the builder."""
    from ltml_bench.errors import DataError

    bundle = spec.build(**options)
    if not isinstance(bundle, DatasetBundle):
        raise DataError(f"dataset {spec.name!r}: build(**options) returned {type(bundle).__name__}, expected a "
                        f"ltml_bench.data.DatasetBundle(name, class_names, train=Split(...), test=Split(...))")
    if bundle.train.labels.shape[1] != len(bundle.class_names) or bundle.test.labels.shape[1] != len(bundle.class_names):
        raise DataError(f"dataset {spec.name!r}: {len(bundle.class_names)} class names but label columns "
                        f"train {bundle.train.labels.shape[1]} / test {bundle.test.labels.shape[1]}; give one column per class")
    return bundle


def load_batch(dataset: Any, indices: Sequence[int] | Any, train: bool, generator: Any = None) -> tuple[Any, Any]:
    """(images, float targets) of `indices` from any split dataset: its own batched `get_batch`
    when it has one (in-memory and cached stores), else its items stacked."""
    import torch

    if hasattr(dataset, "get_batch"):
        return dataset.get_batch(indices, train=train, generator=generator)
    items = [dataset[int(i)] for i in indices]
    return torch.stack([x for x, _ in items]), torch.stack([torch.as_tensor(y, dtype=torch.float32) for _, y in items])


class TensorImages:
    """A split held in memory as uint8 images [N, 3, H, W], batched with augmentation.

    Arguments (all stored as attributes of the same name, `images` and `labels` as tensors):
        images: uint8 array [N, 3, H, W] (RGB, 0..255; channels first).
        labels: [N, C] multi-hot array of the same rows (kept as float32 `targets`).
        mean, std: per-channel normalisation on the 0..1 scale (default 0.5 / 0.25; ImageNet
            weights want `IMAGENET_MEAN` / `IMAGENET_STD`).
        pad: training shift in pixels (replicate-pad by `pad`, crop back to H x W); 0 disables it.

    `get_batch(indices, train, generator)` returns normalised float images and float targets.
    Training augmentation here is a random horizontal flip and a random shift (pad-and-crop of
    `pad` pixels), applied per image from `generator`, so a seeded run is reproducible.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        mean: Sequence[float] = (0.5, 0.5, 0.5),
        std: Sequence[float] = (0.25, 0.25, 0.25),
        pad: int = 2,
    ) -> None:
        import torch

        self.images = torch.as_tensor(np.ascontiguousarray(images), dtype=torch.uint8)
        self.targets = torch.as_tensor(np.asarray(labels), dtype=torch.float32)
        self.mean = torch.tensor(mean).view(1, 3, 1, 1) * 255.0
        self.std = torch.tensor(std).view(1, 3, 1, 1) * 255.0
        self.pad = pad

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        x, y = self.get_batch([index], train=False)
        return x[0], y[0]

    def get_batch(self, indices: Sequence[int] | Any, train: bool, generator: Any = None) -> tuple[Any, Any]:
        import torch

        idx = torch.as_tensor(indices, dtype=torch.long)
        x = self.images[idx]
        if train:
            # flip, then replicate-pad by `pad` and crop at (dy, dx): one row and one column index
            # list per image (clamped = replicate padding; reversed = flipped), applied to the uint8
            # images before the float conversion (same pixels and random draws as padding a float copy)
            n, _, h, w = x.shape
            flip = torch.rand(n, generator=generator) < 0.5
            rows = torch.arange(h).expand(n, h)
            cols = torch.arange(w).expand(n, w)
            if self.pad > 0:
                p = self.pad
                dx = torch.randint(0, 2 * p + 1, (n,), generator=generator)
                dy = torch.randint(0, 2 * p + 1, (n,), generator=generator)
                rows = (rows + (dy.view(n, 1) - p)).clamp(0, h - 1)
                cols = (cols + (dx.view(n, 1) - p)).clamp(0, w - 1)
            cols = torch.where(flip.view(n, 1), (w - 1) - cols, cols)
            out = torch.empty_like(x)
            for i in range(n):
                out[i] = x[i].index_select(1, rows[i]).index_select(2, cols[i])
            x = out
        x = (x.float() - self.mean) / self.std
        return x.contiguous(), self.targets[idx]
