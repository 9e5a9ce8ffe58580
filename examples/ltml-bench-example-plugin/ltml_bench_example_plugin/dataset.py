"""An example dataset plugin: long-tailed stripes, generated in memory.

Each of 6 classes is a stripe (3 horizontal rows, 3 vertical columns) drawn bright on dark noise;
class k is present with probability 0.5 ** (k + 1), so a few classes are common and the rest
rare. `stripes_spec()` returns the `DatasetSpec`; the entry point in `pyproject.toml` names it,
and ltml-bench calls `build(**options)` with one keyword argument per key of `options`.
"""

from __future__ import annotations

import numpy as np

from ltml_bench.data import DatasetBundle, Split, TensorImages
from ltml_bench.registry import DatasetSpec

CLASSES = ["row_top", "row_middle", "row_bottom", "column_left", "column_middle", "column_right"]
SIZE = 12


def _draw(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    frequency = 0.5 ** (np.arange(len(CLASSES)) + 1.0)
    labels = (rng.random((n, len(CLASSES))) < frequency).astype(np.uint8)
    images = rng.integers(0, 50, (n, 3, SIZE, SIZE), dtype=np.uint8)
    for i, row in enumerate(labels):
        for k in np.flatnonzero(row):
            band = slice(4 * (k % 3), 4 * (k % 3) + 4)
            if k < 3:
                images[i, :, band, :] = 240
            else:
                images[i, :, :, band] = 240
    return images, labels


def build(train_images: int = 600, test_images: int = 300, seed: int = 0) -> DatasetBundle:
    """The bundle: `train_images` / `test_images` generated images from `seed`."""
    rng = np.random.default_rng(seed)
    train_x, train_y = _draw(rng, train_images)
    test_x, test_y = _draw(rng, test_images)
    return DatasetBundle(
        name="stripes_example",
        class_names=list(CLASSES),
        train=Split([f"train_{i}" for i in range(train_images)], train_y, TensorImages(train_x, train_y, pad=1)),
        test=Split([f"test_{i}" for i in range(test_images)], test_y, TensorImages(test_x, test_y, pad=0)),
        info={"seed": seed},
    )


def stripes_spec() -> DatasetSpec:
    return DatasetSpec(
        name="stripes_example",
        title="Stripes (example plugin)",
        summary="6 long-tailed stripe classes on noise, 12 px, generated in memory",
        build=build,
        options={"train_images": 600, "test_images": 300, "seed": 0},
        recipe={"backbone": "ltml_cifar_resnet_small", "pretrained": False, "image_size": SIZE, "epochs": 4,
                "lr_steps": (3,), "batch_size": 32, "lr": 0.05, "warmup_iters": 20, "neck_dim": 16},
        recipe_resampled={"epochs": 2, "lr_steps": ()},
    )
