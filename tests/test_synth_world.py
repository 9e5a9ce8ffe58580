"""The pretraining world synth_world and the shared rendering primitives (`ltml_bench.data.synthetic`)."""

from __future__ import annotations

import numpy as np
import pytest
from ltml_bench.datasets import synth_lt, synth_world

from ltml_bench.data.synthetic import SHAPES, SYNTH_LT_SHAPES, object_masks, shape_mask, texture_factor
from ltml_bench.errors import UserError
from ltml_bench import list_datasets
from ltml_bench.registry import get_dataset

SMALL = {"train_size": 320, "test_size": 160}


@pytest.fixture(scope="module")
def small():
    return synth_world.generate(0, **SMALL)


def test_shapes_match_their_closed_forms() -> None:
    # hand-checked masks of size 6: centre 2.5, half 3, stroke w = 1
    assert shape_mask(SHAPES.index("block"), 6).sum() == 36
    disc = shape_mask(SHAPES.index("disc"), 6)
    want = np.array([[(x - 2.5) ** 2 + (y - 2.5) ** 2 <= 9 for x in range(6)] for y in range(6)])
    np.testing.assert_array_equal(disc, want)
    diamond = shape_mask(SHAPES.index("diamond"), 6)
    np.testing.assert_array_equal(diamond, [[abs(x - 2.5) + abs(y - 2.5) <= 3 for x in range(6)] for y in range(6)])
    frame = shape_mask(SHAPES.index("frame"), 6)
    assert frame[0].all() and frame[-1].all() and not frame[2:4, 2:4].any()
    bars = shape_mask(SHAPES.index("bars"), 6)
    np.testing.assert_array_equal(bars[:, 0], [True, True, False, False, True, True])
    np.testing.assert_array_equal(shape_mask(SHAPES.index("columns"), 6), bars.T)


def test_vectorised_masks_equal_one_object_at_a_time() -> None:
    rng = np.random.default_rng(1)
    n, s = 64, 32
    shape, size = rng.integers(len(SHAPES), size=n), rng.integers(3, 18, size=n)
    y0, x0 = rng.integers(0, s - size + 1), rng.integers(0, s - size + 1)
    masks = object_masks(shape, size, y0, x0, s)
    for i in range(n):
        want = np.zeros((s, s), bool)
        want[y0[i] : y0[i] + size[i], x0[i] : x0[i] + size[i]] = shape_mask(int(shape[i]), int(size[i]))
        np.testing.assert_array_equal(masks[i], want)


def test_textures_leave_solid_objects_alone() -> None:
    factor = texture_factor(np.array([0, 1, 2, 3]), np.array([0, 0, 0, 0]), np.array([0, 0, 0, 0]), 8)
    assert (factor[0] == 1).all()
    np.testing.assert_allclose(np.unique(factor[1]), [0.55, 1.0], rtol=1e-6)
    np.testing.assert_allclose(np.unique(factor[2]), [0.5, 1.0], rtol=1e-6)
    assert factor[3][0, 0] == pytest.approx(0.55) and factor[3][0, -1] > factor[3][0, 0]


def test_world_primitives_are_a_superset_of_synth_lt() -> None:
    assert SHAPES[: len(SYNTH_LT_SHAPES)] == synth_lt.SHAPES and len(SHAPES) > len(synth_lt.SHAPES)
    assert len(synth_world.FAMILIES) > len(synth_lt.FAMILIES)
    np.testing.assert_array_equal(synth_world.FAMILY_RGB[:4], synth_lt.FAMILY_RGB)


def test_generation_is_deterministic_balanced_and_single_label(small) -> None:
    again = synth_world.generate(0, **SMALL)
    for key in small:
        np.testing.assert_array_equal(small[key], again[key])
    other = synth_world.generate(1, **SMALL)
    assert not np.array_equal(small["train_images"], other["train_images"])
    assert small["train_images"].shape == (320, 3, 32, 32) and small["train_images"].dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(small["train_classes"], minlength=80), np.full(80, 4))
    np.testing.assert_array_equal(np.bincount(small["test_classes"], minlength=80), np.full(80, 2))


def test_label_space_is_eighty_distinct_triples_using_every_primitive(small) -> None:
    table = small["class_table"]
    assert table.shape == (80, 3) and len({tuple(r) for r in table}) == 80
    for column, count in enumerate((len(synth_world.FAMILIES), len(synth_world.TEXTURES), len(SHAPES))):
        assert set(table[:, column]) == set(range(count))
    names = synth_world.class_names(table)
    assert len(set(names)) == 80 and not set(names) & set(synth_lt.CLASS_NAMES)


def test_random_streams_are_disjoint_from_synth_lt() -> None:
    # synth_lt draws from default_rng([GENERATOR_VERSION, seed]); the world's streams have another entropy
    for seed in range(3):
        lt = np.random.default_rng([synth_lt.GENERATOR_VERSION, seed]).random(256)
        root = np.random.SeedSequence([synth_world.WORLD_NAMESPACE, synth_world.GENERATOR_VERSION, seed])
        for child in root.spawn(3):
            assert not np.isin(np.random.default_rng(child).random(256), lt).any()


def test_registered_listed_and_built(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LTML_BENCH_CACHE", str(tmp_path))
    assert "synth_world" in list_datasets()
    bundle = get_dataset("synth_world").build(data_seed=0, **SMALL)
    assert bundle.num_classes == 80 and len(bundle.train) == 320 and len(bundle.test) == 160
    assert (bundle.train.labels.sum(axis=1) == 1).all()
    x, y = bundle.train.dataset.get_batch(np.arange(4), train=False)
    assert tuple(x.shape) == (4, 3, 32, 32) and tuple(y.shape) == (4, 80)
    assert len(list((tmp_path / "synth_world").glob("*.npz"))) == 1  # cached


def test_sizes_must_keep_the_world_balanced() -> None:
    with pytest.raises(UserError, match="multiple of 80"):
        get_dataset("synth_world").build(train_size=100)
