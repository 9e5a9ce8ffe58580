"""synth_world: the balanced synthetic pretraining world (the part ImageNet plays for VOC-LT).

A deterministic generator (seeded by `data_seed`) of 32 x 32 RGB images made with the same
rendering primitives as synth_lt (`ltml_bench.data.synthetic`), but a superset of them: 12 shapes
(synth_lt has 5), 8 colour families (synth_lt has 4) and 4 textures (synth_lt's objects are all
solid). The task is single-label: 80 classes, each a (colour, texture, shape) triple drawn once
per world from the 384 possible ones, so the label space is neither synth_lt's 20 classes nor a
product a network could read off one attribute: telling classes apart needs shape, colour and
texture together. Each image shows one labelled object (10-17 px, drawn on top) among 0-3 smaller
clutter objects (6-11 px) that belong to no class: triples outside the 80, or grey shapes.

Scenes and co-occurrence are the world's own: 10 scenes, each with its background tint and its
pool of 12 clutter triples; a class lives in its home scene 70% of the time and in a random scene
otherwise. Sizes: 40,000 training and 4,000 test images, exactly balanced (500 / 50 per class).

Random streams: one `numpy.random.SeedSequence([WORLD_NAMESPACE, GENERATOR_VERSION, data_seed])`
spawns the class table, the training set and the test set. synth_lt seeds its one stream with
`[GENERATOR_VERSION, data_seed]` (two words); the leading namespace word here makes the entropy
different for every data_seed, so no stream is shared with synth_lt's pool or test set.

Rendering is vectorised over chunks of images (one numpy pass per object slot), a few seconds
for the whole world; the arrays are cached (`$LTML_BENCH_CACHE/synth_world/`) as a compressed
.npz written atomically. Options: `data_seed` (0), and `train_size` / `test_size` (multiples of
80; smaller worlds for tests).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ltml_bench.data import DatasetBundle, Split, TensorImages, cache_dir, cached_arrays
from ltml_bench.data.synthetic import FAMILIES, FAMILY_RGB, SHAPES, TEXTURES, object_masks, paint, texture_factor
from ltml_bench.errors import UserError
from ltml_bench.registry import DATASETS, DatasetSpec

GENERATOR_VERSION = 1
WORLD_NAMESPACE = 0x5357_4F52  # "SWOR": the first entropy word of every synth_world stream
IMAGE_SIZE = 32
NUM_CLASSES = 80
NUM_SCENES = 10
CLUTTER_PER_SCENE = 12
MAX_CLUTTER = 3
HOME_SCENE_PROB = 0.7
TRAIN_SIZE = 40_000
TEST_SIZE = 4_000
CHUNK = 2048


def class_table(rng: np.random.Generator) -> np.ndarray:
    """[80, 3] (colour, texture, shape) triples, distinct, every shape / colour / texture used."""
    triples = np.array([(f, t, s) for f in range(len(FAMILIES)) for t in range(len(TEXTURES)) for s in range(len(SHAPES))])
    while True:
        chosen = triples[np.sort(rng.choice(len(triples), size=NUM_CLASSES, replace=False))]
        counts = [np.bincount(chosen[:, j], minlength=n).min() for j, n in enumerate((len(FAMILIES), len(TEXTURES), len(SHAPES)))]
        if min(counts) >= 2:
            return chosen


def class_names(table: np.ndarray) -> list[str]:
    return [f"{FAMILIES[f]}_{TEXTURES[t]}_{SHAPES[s]}" for f, t, s in table]


def _scenes(rng: np.random.Generator, table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-class home scene [80], per-scene background level [S, 3], clutter triples [S, K, 3]."""
    taken = {tuple(row) for row in table}
    others = np.array([(f, t, s) for f in range(len(FAMILIES)) for t in range(len(TEXTURES)) for s in range(len(SHAPES))
                       if (f, t, s) not in taken])
    home = rng.permutation(np.arange(NUM_CLASSES) % NUM_SCENES)
    background = rng.uniform(0.2, 0.6, size=(NUM_SCENES, 3))
    clutter = np.stack([others[rng.choice(len(others), size=CLUTTER_PER_SCENE, replace=False)] for _ in range(NUM_SCENES)])
    return home, background, clutter


def _render_chunk(rng: np.random.Generator, labels: np.ndarray, table: np.ndarray, scene_parts: tuple[np.ndarray, ...]) -> np.ndarray:
    home, background, clutter = scene_parts
    n, s = len(labels), IMAGE_SIZE
    scene = np.where(rng.random(n) < HOME_SCENE_PROB, home[labels], rng.integers(NUM_SCENES, size=n))
    img = (background[scene][:, :, None, None] + rng.normal(0, 0.06, size=(n, 3, s, s))).astype(np.float32)
    count = rng.integers(0, MAX_CLUTTER + 1, size=n)
    for slot in range(MAX_CLUTTER + 1):
        target = slot == MAX_CLUTTER
        if target:
            triple, size = table[labels], rng.integers(10, 18, size=n)
            active = np.ones(n, bool)
        else:
            triple, size = clutter[scene, rng.integers(CLUTTER_PER_SCENE, size=n)], rng.integers(6, 12, size=n)
            active = slot < count
        y0 = (rng.random(n) * (s - size + 1)).astype(np.int64)
        x0 = (rng.random(n) * (s - size + 1)).astype(np.int64)
        colour = np.clip(FAMILY_RGB[triple[:, 0]] + rng.normal(0, 0.08, size=(n, 3)), 0, 1)
        if not target:  # a third of the clutter is grey, as synth_lt's distractors
            grey = rng.random(n) < 1 / 3
            colour[grey] = rng.uniform(0.3, 0.8, size=(int(grey.sum()), 1)) + rng.normal(0, 0.05, size=(int(grey.sum()), 3))
        alpha = rng.uniform(0.7, 1.0, size=n) if not target else rng.uniform(0.8, 1.0, size=n)
        masks = object_masks(triple[:, 2], size, y0, x0, s) & active[:, None, None]
        paint(img, masks, colour.astype(np.float32), alpha.astype(np.float32), texture_factor(triple[:, 1], x0, y0, s))
    img += rng.normal(0, 0.04, size=img.shape).astype(np.float32)
    return (np.clip(img, 0, 1) * 255).round().astype(np.uint8)


def _render(rng: np.random.Generator, labels: np.ndarray, table: np.ndarray, scene_parts: tuple[np.ndarray, ...]) -> np.ndarray:
    chunks = [_render_chunk(rng, labels[i : i + CHUNK], table, scene_parts) for i in range(0, len(labels), CHUNK)]
    return np.concatenate(chunks) if chunks else np.zeros((0, 3, IMAGE_SIZE, IMAGE_SIZE), np.uint8)


def _balanced_labels(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.permutation(np.arange(n) % NUM_CLASSES)


def generate(data_seed: int = 0, train_size: int = TRAIN_SIZE, test_size: int = TEST_SIZE) -> dict[str, np.ndarray]:
    """The world's arrays (deterministic in its arguments): images uint8 [N, 3, 32, 32], class
    indices [N], and the class table [80, 3]."""
    table_seq, train_seq, test_seq = np.random.SeedSequence([WORLD_NAMESPACE, GENERATOR_VERSION, data_seed]).spawn(3)
    table_rng = np.random.default_rng(table_seq)
    table = class_table(table_rng)
    scene_parts = _scenes(table_rng, table)
    arrays: dict[str, np.ndarray] = {"class_table": table}
    for split, seq, n in (("train", train_seq, train_size), ("test", test_seq, test_size)):
        rng = np.random.default_rng(seq)
        labels = _balanced_labels(rng, n)
        arrays[f"{split}_images"] = _render(rng, labels, table, scene_parts)
        arrays[f"{split}_classes"] = labels.astype(np.int64)
    return arrays


def load_arrays(data_seed: int = 0, train_size: int = TRAIN_SIZE, test_size: int = TEST_SIZE) -> dict[str, np.ndarray]:
    """Generated arrays, from the cache when present."""
    name = f"v{GENERATOR_VERSION}-seed{data_seed}" + ("" if (train_size, test_size) == (TRAIN_SIZE, TEST_SIZE) else f"-{train_size}-{test_size}")
    return cached_arrays(cache_dir() / "synth_world" / f"{name}.npz", lambda: generate(data_seed, train_size, test_size))


def _one_hot(classes: np.ndarray) -> np.ndarray:
    out = np.zeros((len(classes), NUM_CLASSES), dtype=np.uint8)
    out[np.arange(len(classes)), classes] = 1
    return out


def build(data_seed: int = 0, train_size: int = TRAIN_SIZE, test_size: int = TEST_SIZE, **_: Any) -> DatasetBundle:
    for key, value in (("train_size", train_size), ("test_size", test_size)):
        if int(value) < NUM_CLASSES or int(value) % NUM_CLASSES:
            raise UserError(f"synth_world: {key}={value} must be a positive multiple of {NUM_CLASSES} (the world is balanced); e.g. --set {key}={NUM_CLASSES * 10}")
    arrays = load_arrays(int(data_seed), int(train_size), int(test_size))
    splits = {}
    for split in ("train", "test"):
        labels = _one_hot(arrays[f"{split}_classes"])
        ids = [f"{split}_{i:05d}" for i in range(len(labels))]
        splits[split] = Split(ids, labels, TensorImages(arrays[f"{split}_images"], labels, pad=2 if split == "train" else 0))
    return DatasetBundle(
        name="synth_world",
        class_names=class_names(arrays["class_table"]),
        train=splits["train"],
        test=splits["test"],
        info={"generator_version": GENERATOR_VERSION, "data_seed": int(data_seed), "image_size": IMAGE_SIZE, "single_label": True},
    )


SPEC = DATASETS.register(
    DatasetSpec(
        name="synth_world",
        title="synth-world",
        summary="embedded balanced single-label pretraining world: 80 classes, 40,000 train / 4,000 test, 32 px",
        build=build,
        recipe={
            "backbone": "test_resnet",
            "pretrained": False,
            "image_size": IMAGE_SIZE,
            "batch_size": 64,
            "lr": 0.1,
            "epochs": 10,
            "lr_steps": (6, 9),
            "warmup_iters": 300,
            "neck_dim": 0,
            "dropout": 0.0,
        },
        options={"data_seed": 0, "train_size": TRAIN_SIZE, "test_size": TEST_SIZE},
    ),
    origin="builtin",
)
