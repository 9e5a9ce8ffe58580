"""The class-aware sampler of the DB protocol (docs/protocol.md section 3.3; `ltml_bench.training.samplers`)."""

from __future__ import annotations

import numpy as np
import pytest

from ltml_bench.training.samplers import class_aware_epoch_length, class_aware_order, shuffled_order

# single-label toy set: class k has COUNTS[k] images, so every drawn image names its class
COUNTS = (40, 12, 5, 2, 0)  # the last class has no image


def _single_label(counts=COUNTS) -> np.ndarray:
    labels = np.zeros((sum(counts), len(counts)), dtype=np.uint8)
    row = 0
    for k, n in enumerate(counts):
        labels[row : row + n, k] = 1
        row += n
    return labels


def _draw_classes(order: np.ndarray, labels: np.ndarray, per_draw: int = 3) -> np.ndarray:
    """The class of each complete draw of a single-label order."""
    full = len(order) // per_draw * per_draw
    triples = labels[order[:full]].argmax(axis=1).reshape(-1, per_draw)
    assert (triples == triples[:, :1]).all(), "a draw mixes classes"
    return triples[:, 0]


def test_epoch_length_is_max_count_times_classes_over_four():
    labels = _single_label()
    assert class_aware_epoch_length(labels) == 40 * 5 // 4
    assert len(class_aware_order(labels, seed=0, epoch=0)) == 50
    assert len(class_aware_order(labels, seed=0, epoch=0, epoch_reduce=2)) == 100
    # the published sizes: VOC-LT 775 * 20 / 4, COCO-LT 1128 * 80 / 4
    voc = np.zeros((775, 20), dtype=np.uint8)
    voc[:, 0] = 1
    assert class_aware_epoch_length(voc) == 3875
    coco = np.zeros((1128, 80), dtype=np.uint8)
    coco[:, 0] = 1
    assert class_aware_epoch_length(coco) == 22560


def test_each_class_drawn_equally_often_and_empty_classes_skipped():
    labels = _single_label()
    present = [k for k, n in enumerate(COUNTS) if n > 0]
    totals = np.zeros(len(COUNTS))
    for epoch in range(200):
        classes = _draw_classes(class_aware_order(labels, seed=3, epoch=epoch), labels)
        per_epoch = np.bincount(classes, minlength=len(COUNTS))
        assert per_epoch[4] == 0  # the class without images is never drawn
        # classes come from a shuffled cycle: within an epoch the counts differ by at most one
        assert per_epoch[present].max() - per_epoch[present].min() <= 1
        totals += per_epoch
    share = totals[present] / totals.sum()
    np.testing.assert_allclose(share, 1.0 / len(present), atol=0.01)
    # every class gets the same number of samples, so an image of the 2-image class is seen about
    # 20 times as often as an image of the 40-image class
    seen = np.bincount(np.concatenate([class_aware_order(labels, 3, e) for e in range(20)]), minlength=len(labels))
    assert seen[labels[:, 3] == 1].mean() > 10 * seen[labels[:, 0] == 1].mean()


def test_three_consecutive_images_of_one_class_per_draw_multilabel():
    rng = np.random.default_rng(0)
    labels = (rng.random((60, 6)) < 0.25).astype(np.uint8)
    labels[:, 5] = 0
    labels[:3, 5] = 1  # a rare class
    order = class_aware_order(labels, seed=1, epoch=0)
    full = len(order) // 3 * 3
    for start in range(0, full, 3):
        triple = labels[order[start : start + 3]]
        assert triple.all(axis=0).any(), f"draw at {start} shares no class"


def test_a_class_list_is_cycled_without_repeats_within_a_pass():
    labels = _single_label((9, 9))
    order = class_aware_order(labels, seed=0, epoch=0, num_samples=36)
    for k in range(2):
        mine = [int(i) for i in order if labels[i, k]]
        assert len(mine) == 18
        assert sorted(mine[:9]) == sorted(np.flatnonzero(labels[:, k]).tolist())  # a full pass first
        assert sorted(mine[9:]) == sorted(mine[:9])  # then a reshuffled second pass


def test_deterministic_in_seed_and_epoch():
    labels = _single_label()
    a = class_aware_order(labels, seed=5, epoch=2)
    np.testing.assert_array_equal(a, class_aware_order(labels, seed=5, epoch=2))
    assert not np.array_equal(a, class_aware_order(labels, seed=5, epoch=3))
    assert not np.array_equal(a, class_aware_order(labels, seed=6, epoch=2))
    np.testing.assert_array_equal(shuffled_order(10, 1, 4), shuffled_order(10, 1, 4))
    assert sorted(shuffled_order(10, 1, 4)) == list(range(10))


def test_no_labelled_image_is_an_error():
    with pytest.raises(ValueError):
        class_aware_order(np.zeros((4, 3), dtype=np.uint8), seed=0, epoch=0)
