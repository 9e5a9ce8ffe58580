"""Properties of the embedded dataset synth_lt."""

from __future__ import annotations

import numpy as np
import pytest
from ltml_bench.datasets import synth_lt

from ltml_bench.metrics import GroupRule
from ltml_bench.registry import get_dataset


@pytest.fixture(scope="module")
def bundle():
    return get_dataset("synth_lt").build()


def test_generation_is_deterministic() -> None:
    a = synth_lt.generate(3)
    b = synth_lt.generate(3)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    c = synth_lt.generate(4)
    assert not np.array_equal(a["train_labels"], c["train_labels"]) or not np.array_equal(a["train_images"], c["train_images"])


def test_cache_is_reused_and_corrupt_cache_regenerated(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("LTML_BENCH_CACHE", str(tmp_path))
    first = synth_lt.load_arrays(0)
    files = list((tmp_path / "synth_lt").glob("*.npz"))
    assert len(files) == 1
    calls = []
    monkeypatch.setattr(synth_lt, "generate", lambda seed: calls.append(seed) or first)
    synth_lt.load_arrays(0)
    assert calls == []  # read from the cache
    files[0].write_bytes(b"not an npz file")
    synth_lt.load_arrays(0)
    assert calls == [0]  # a corrupt cache is regenerated, never trusted


def test_long_tailed_profile_near_voc_lt(bundle) -> None:
    counts = bundle.train.class_counts
    assert bundle.num_classes == 20
    assert 1000 <= len(bundle.train) <= 1300
    assert 600 <= counts.max() <= 850 and 1 <= counts.min() <= 8
    groups = GroupRule().assign(counts)
    sizes = [len(groups[g]) for g in ("head", "middle", "tail")]
    assert all(4 <= s <= 9 for s in sizes), sizes
    assert sum(sizes) == 20


def test_test_set_natural_with_every_class_positive(bundle) -> None:
    test_counts = bundle.test.class_counts
    assert (test_counts > 0).all()
    assert len(bundle.test) == synth_lt.TEST_SIZE
    # the natural distribution is far less skewed than the training set
    train_counts = bundle.train.class_counts
    assert test_counts.max() / test_counts.min() < train_counts.max() / train_counts.min() / 5


def test_multi_label_with_a_hub_class(bundle) -> None:
    labels = bundle.train.labels
    assert labels.sum(axis=1).min() >= 1
    assert labels.sum(axis=1).mean() > 1.5  # several objects per image
    # the person-like class 0 co-occurs with most other classes, including tail ones
    co = (labels[:, [0]] & labels).sum(axis=0)
    assert (co[1:] > 0).sum() >= 12
    tail = GroupRule().assign(bundle.train.class_counts)["tail"]
    assert any(co[k] > 0 for k in tail if k != 0)


def test_images_are_small_uint8_and_batches_normalised(bundle) -> None:
    store = bundle.train.dataset
    assert store.images.dtype.is_floating_point is False
    assert tuple(store.images.shape[1:]) == (3, synth_lt.IMAGE_SIZE, synth_lt.IMAGE_SIZE)
    import torch

    x, y = store.get_batch(np.arange(8), train=True, generator=torch.Generator().manual_seed(0))
    assert x.shape == (8, 3, 32, 32) and x.dtype == torch.float32 and y.shape == (8, 20)
    assert abs(float(x.mean())) < 1.5
    x2, _ = store.get_batch(np.arange(8), train=True, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)  # augmentation is a function of the generator
    clean, _ = store.get_batch(np.arange(8), train=False)
    clean2, _ = store.get_batch(np.arange(8), train=False)
    assert torch.equal(clean, clean2)
