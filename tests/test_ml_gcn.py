"""ML-GCN head: the co-occurrence adjacency on a hand-checked label matrix, shapes, word vectors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ltml_bench.errors import ConfigError, UserError
from ltml_bench.heads.ml_gcn import (
    MLGCNHead,
    conditional_probability,
    gcn_adjacency,
    load_word_vectors,
    reweighted_adjacency,
)

# 5 images x 3 classes; n = (4, 3, 2); pairs: (0,1) in images 0 and 2, (0,2) in image 2, (1,2) in images 2 and 3
LABELS = np.array([
    [1, 1, 0],
    [1, 0, 0],
    [1, 1, 1],
    [0, 1, 1],
    [1, 0, 0],
])


def test_conditional_probability_by_hand():
    expected = np.array([
        [0.0, 2 / 4, 1 / 4],   # P(1|0) = 2/4, P(2|0) = 1/4
        [2 / 3, 0.0, 2 / 3],   # P(0|1) = 2/3, P(2|1) = 2/3
        [1 / 2, 2 / 2, 0.0],   # P(0|2) = 1/2, P(1|2) = 1
    ])
    np.testing.assert_allclose(conditional_probability(LABELS), expected)


# binarised at t = 0.4:  row 0 -> [0, 1, 0], row 1 -> [1, 0, 1], row 2 -> [1, 1, 0]


def test_official_form_by_hand():
    # column sums of the binary matrix: 2, 2, 1 -> off-diagonal entries p / colsum, then + I
    a = np.array([
        [1.0, 0.125, 0.0],
        [0.125, 1.0, 0.25],
        [0.125, 0.125, 1.0],
    ])
    np.testing.assert_allclose(reweighted_adjacency(LABELS, 0.4, 0.25, "official"), a)
    r = np.array([1.125, 1.375, 1.25])  # row sums of A'
    # A_hat = D^-1/2 A'^T D^-1/2: A_hat[i, j] = A'[j, i] / sqrt(r_i r_j)
    expected = np.array([
        [1.0 / 1.125, 0.125 / math.sqrt(1.125 * 1.375), 0.125 / math.sqrt(1.125 * 1.25)],
        [0.125 / math.sqrt(1.375 * 1.125), 1.0 / 1.375, 0.125 / math.sqrt(1.375 * 1.25)],
        [0.0, 0.25 / math.sqrt(1.25 * 1.375), 1.0 / 1.25],
    ])
    np.testing.assert_allclose(gcn_adjacency(LABELS, 0.4, 0.25, "official"), expected)


def test_paper_form_by_hand():
    # row i's off-diagonal ones share p = 0.25; diagonal 1 - p; rows sum to 1, so D = I
    expected = np.array([
        [0.75, 0.25, 0.0],
        [0.125, 0.75, 0.125],
        [0.125, 0.125, 0.75],
    ])
    np.testing.assert_allclose(reweighted_adjacency(LABELS, 0.4, 0.25, "paper"), expected)
    np.testing.assert_allclose(gcn_adjacency(LABELS, 0.4, 0.25, "paper"), expected)


def test_threshold_and_isolated_classes():
    # t above every probability: no edge; the paper form's diagonal 1 - p is normalised back to 1
    np.testing.assert_allclose(gcn_adjacency(LABELS, 1.01, 0.25, "paper"), np.eye(3))
    np.testing.assert_allclose(gcn_adjacency(LABELS, 1.01, 0.25, "official"), np.eye(3))
    # a class without training images: no edge in either direction, finite everywhere
    labels = np.concatenate([LABELS, np.zeros((5, 1), dtype=int)], axis=1)
    for form in ("official", "paper"):
        adj = gcn_adjacency(labels, 0.4, 0.25, form)
        assert np.isfinite(adj).all()
        assert adj[3, 3] == pytest.approx(1.0)
        assert not adj[3, :3].any() and not adj[:3, 3].any()
    with pytest.raises(ConfigError):
        reweighted_adjacency(LABELS, form="bogus")
    with pytest.raises(ConfigError):
        MLGCNHead(8, 3, train_labels=LABELS, t=1.5)


def test_head_output_shape_and_classifier():
    torch.manual_seed(0)
    head = MLGCNHead(16, 3, class_counts=LABELS.sum(0), train_labels=LABELS, hidden=32)
    f = torch.randn(7, 16)
    for mode in (True, False):
        head.train(mode)
        assert head(f).shape == (7, 3)
    adj = torch.tensor(gcn_adjacency(LABELS), dtype=torch.float32)
    w = adj @ (torch.nn.functional.leaky_relu(adj @ (torch.eye(3) @ head.gc1), 0.2) @ head.gc2)
    torch.testing.assert_close(head(f), f @ w.t())
    with pytest.raises(ValueError):
        MLGCNHead(16, 3, class_counts=LABELS.sum(0))  # the label matrix is required


def test_word_vectors_npy(tmp_path):
    vectors = np.arange(12, dtype=np.float64).reshape(3, 4)
    path = tmp_path / "emb.npy"
    np.save(path, vectors)
    head = MLGCNHead(8, 3, train_labels=LABELS, hidden=5, word_vectors=str(path))
    torch.testing.assert_close(head.embedding, torch.tensor(vectors, dtype=torch.float32))
    assert head.gc1.shape == (4, 5) and head(torch.randn(2, 8)).shape == (2, 3)
    np.save(tmp_path / "bad.npy", vectors[:2])
    with pytest.raises(UserError):
        load_word_vectors(str(tmp_path / "bad.npy"), 3)
    with pytest.raises(UserError):
        load_word_vectors(str(tmp_path / "missing.npy"), 3)


def test_word_vectors_glove_text_by_class_name(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("4 3\nperson 1 0 0\ntraffic 0 2 0\nlight 0 0 2\ntvmonitor 1 1 1\n")
    vectors = load_word_vectors(str(path), 3, ["Person", "traffic_light", "tvmonitor"])
    np.testing.assert_allclose(vectors, [[1, 0, 0], [0, 1, 1], [1, 1, 1]])  # multi-word names averaged
    with pytest.raises(UserError, match="pottedplant"):
        load_word_vectors(str(path), 2, ["person", "pottedplant"])
    with pytest.raises(UserError, match="class names"):
        load_word_vectors(str(path), 3, None)
