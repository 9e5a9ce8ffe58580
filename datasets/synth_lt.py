"""synth_lt: the embedded long-tailed multi-label dataset (no files needed).

A deterministic generator (seeded by `data_seed`) of small RGB images, each holding several
objects drawn from 20 classes. Each class is one of 5 shapes (block, ring, plus, cross, bars) in
one of 4 jittered colour families (so classes share visual parts, as real categories do), drawn at
random sizes and positions over a noisy background, with grey distractor shapes of no class. Labels come from
latent scenes: every image first draws one of 8 scenes, and the scene decides which classes tend
to appear together; class 0 ("walker") appears in most scenes, the way `person` co-occurs with
almost every VOC class. The natural pool (8,000 images) is turned into a long-tailed training set
with the project's Pareto builder (`ltml_bench.data.pareto`, docs/protocol.md section 3.1, alpha 6, max 800,
the VOC-LT settings), which lands near the VOC-LT profile: about 1,100 images, group sizes near
6 / 6 / 8 (5 / 7 / 8 for the default data_seed 0). The test set (2,000 images) is drawn from the natural distribution with a separate
random stream; the generator checks that every class has test positives.

Shapes and colours are the shared rendering primitives of `ltml_bench.data.synthetic` (synth_lt
uses five of its shapes and four of its colour families, solid; `synth_world` uses them all).
Recipe: the published fine-tuning recipe with a small backbone (`ltml_bench.recipes.SYNTH_LT_PRETRAINED`:
timm's `test_resnet` pretrained on the separate world `synth_world`, shipped in the package and
pinned by sha256; stem and first stage frozen, BatchNorm frozen; SGD lr 0.02; the published
schedules unchanged, since synth_lt has VOC-LT's sizes). `--set recipe=scratch` is the earlier from-scratch regime.

Images are 32 x 32, generated once and cached (`$LTML_BENCH_CACHE`, default
`~/.cache/ltml-bench/synth_lt`) as a compressed .npz written atomically.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ltml_bench.data import DatasetBundle, Split, TensorImages, cache_dir, cached_arrays
from ltml_bench.data.pareto import pareto_subset
from ltml_bench.data.synthetic import FAMILIES as ALL_FAMILIES
from ltml_bench.data.synthetic import FAMILY_RGB as ALL_FAMILY_RGB
from ltml_bench.data.synthetic import SYNTH_LT_SHAPES, shape_mask
from ltml_bench.recipes import SYNTH_LT_PRETRAINED, SYNTH_LT_PRETRAINED_RESAMPLED, SYNTH_LT_SCRATCH, SYNTH_LT_SCRATCH_RESAMPLED
from ltml_bench.registry import DATASETS, DatasetSpec

GENERATOR_VERSION = 2
IMAGE_SIZE = 32
SHAPES = SYNTH_LT_SHAPES
NUM_SHAPES = len(SHAPES)
FAMILIES = ALL_FAMILIES[:4]
FAMILY_RGB = ALL_FAMILY_RGB[:4]
CLASS_NAMES = [f"{family}_{shape}" for family in FAMILIES for shape in SHAPES]
CLASS_NAMES[0] = "walker"  # the person-like class that co-occurs with everything
NUM_CLASSES = len(CLASS_NAMES)
POOL_SIZE = 8000
TEST_SIZE = 2000


def _scene_table(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Scene prior [S] and per-scene class probabilities [S, C]."""
    num_scenes = 8
    probs = np.full((num_scenes, NUM_CLASSES), 0.01)
    members = rng.permutation(np.arange(1, NUM_CLASSES))
    groups = np.array_split(members, num_scenes)
    for s, group in enumerate(groups):
        probs[s, group] = rng.uniform(0.2, 0.5, size=len(group))
        # each scene also borrows one class of another scene: cross-scene co-occurrence
        other = groups[(s + 3) % num_scenes]
        probs[s, rng.choice(other)] = 0.1
    probs[:, 0] = rng.uniform(0.15, 0.5, size=num_scenes)  # walker appears almost everywhere
    prior = rng.dirichlet(np.full(num_scenes, 4.0))
    return prior, probs


def _draw_labels(rng: np.random.Generator, n: int, prior: np.ndarray, probs: np.ndarray) -> np.ndarray:
    scenes = rng.choice(len(prior), size=n, p=prior)
    labels = rng.random((n, NUM_CLASSES)) < probs[scenes]
    empty = ~labels.any(axis=1)
    while empty.any():  # every image carries at least one class
        labels[empty] = rng.random((int(empty.sum()), NUM_CLASSES)) < probs[scenes[empty]]
        empty = ~labels.any(axis=1)
    return labels.astype(np.uint8)


def _class_colour(cls: int, rng: np.random.Generator) -> np.ndarray:
    """The class's colour family, jittered per object."""
    return np.clip(FAMILY_RGB[cls // NUM_SHAPES] + rng.normal(0, 0.08, size=3), 0, 1)


def _render(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = labels.shape[0]
    s = IMAGE_SIZE
    out = np.empty((n, 3, s, s), dtype=np.uint8)
    for i in range(n):
        img = rng.uniform(0.25, 0.55, size=(3, 1, 1)) + rng.normal(0, 0.06, size=(3, s, s))
        classes = list(np.flatnonzero(labels[i]))
        # distractors: shapes in a neutral grey that belong to no class
        items = [(c, True) for c in classes] + [(int(rng.integers(NUM_CLASSES)), False) for _ in range(int(rng.integers(0, 3)))]
        rng.shuffle(items)
        for cls, real in items:
            size = int(rng.integers(9, 16))
            mask = shape_mask(cls % NUM_SHAPES, size)
            y0 = int(rng.integers(0, s - size + 1))
            x0 = int(rng.integers(0, s - size + 1))
            if real:
                colour = _class_colour(cls, rng)
            else:
                grey = rng.uniform(0.3, 0.8)
                colour = np.array([grey, grey, grey]) + rng.normal(0, 0.05, 3)
            alpha = rng.uniform(0.7, 1.0)
            region = img[:, y0 : y0 + size, x0 : x0 + size]
            region[:, mask] = (1 - alpha) * region[:, mask] + alpha * colour[:, None]
        img += rng.normal(0, 0.04, size=(3, s, s))
        out[i] = (np.clip(img, 0, 1) * 255).round().astype(np.uint8)
    return out


def generate(data_seed: int = 0) -> dict[str, np.ndarray]:
    """Generate the dataset arrays (deterministic in `data_seed`)."""
    rng = np.random.default_rng([GENERATOR_VERSION, data_seed])
    prior, probs = _scene_table(rng)
    pool = _draw_labels(rng, POOL_SIZE, prior, probs)
    subset = pareto_subset(pool, alpha=6.0, max_count=800, min_count=1, seed=int(rng.integers(2**31)))
    train_labels = pool[subset.indices]
    test_labels = _draw_labels(rng, TEST_SIZE, prior, probs)
    if (test_labels.sum(axis=0) == 0).any():
        raise RuntimeError("synth_lt generator produced a class without test positives; change data_seed")
    return {
        "train_images": _render(train_labels, rng),
        "train_labels": train_labels,
        "train_pool_index": subset.indices.astype(np.int64),
        "test_images": _render(test_labels, rng),
        "test_labels": test_labels,
    }


def load_arrays(data_seed: int = 0) -> dict[str, np.ndarray]:
    """Generated arrays, from the cache when present."""
    path = cache_dir() / "synth_lt" / f"v{GENERATOR_VERSION}-seed{data_seed}.npz"
    return cached_arrays(path, lambda: generate(data_seed))


def build(data_seed: int = 0, **_: Any) -> DatasetBundle:
    arrays = load_arrays(int(data_seed))
    train_ids = [f"train_{i:05d}" for i in range(len(arrays["train_labels"]))]
    test_ids = [f"test_{i:05d}" for i in range(len(arrays["test_labels"]))]
    return DatasetBundle(
        name="synth_lt",
        class_names=list(CLASS_NAMES),
        train=Split(train_ids, arrays["train_labels"], TensorImages(arrays["train_images"], arrays["train_labels"], pad=2)),
        test=Split(test_ids, arrays["test_labels"], TensorImages(arrays["test_images"], arrays["test_labels"], pad=0)),
        info={"generator_version": GENERATOR_VERSION, "data_seed": int(data_seed), "image_size": IMAGE_SIZE},
    )


SPEC = DATASETS.register(
    DatasetSpec(
        name="synth_lt",
        title="synth-LT",
        summary="embedded synthetic long-tailed multi-label set: 20 classes, ~1,300 train / 2,000 test, 32 px, backbone pretrained on synth_world",
        build=build,
        recipe=SYNTH_LT_PRETRAINED,
        recipe_resampled=SYNTH_LT_PRETRAINED_RESAMPLED,
        recipes={"scratch": (SYNTH_LT_SCRATCH, SYNTH_LT_SCRATCH_RESAMPLED)},
        options={"data_seed": 0},
    ),
    origin="builtin",
)
