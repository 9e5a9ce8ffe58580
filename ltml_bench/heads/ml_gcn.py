"""ML-GCN's classifier head (Chen, Wei, Wang & Guo, CVPR 2019, "Multi-Label Image Recognition with
Graph Convolutional Networks"; official code megvii-research/ML-GCN).

A 2-layer GCN over one node per class turns label embeddings E [C, d] into the classifier weights:
    W = A_hat LeakyReLU_0.2(A_hat E W1) W2   [C, in_features],   logits = f W^T   (no bias).
The same logits are returned in training and evaluation; the loss is plain BCE (the official code's
`MultiLabelSoftMarginLoss` is BCE averaged over classes and images).

Adjacency, from the TRAINING label matrix Y [N, C] (the long-tailed training set, never the test set):
    M_ij = #images with labels i and j (i != j; the diagonal is not used), n_i = #images with label i,
    P_ij = P(L_j | L_i) = M_ij / n_i (a row of a class with n_i = 0 is all zero),
    A_ij = 1 if P_ij >= t else 0   (i != j), t = 0.4.
Re-weighting and normalisation, two forms (`adjacency=`):
- "official" (DEFAULT; the public code's `gen_A` + `gen_adj`):
    A'_ij = p A_ij / sum_i' A_i'j (each COLUMN's off-diagonal entries sum to p; a zero column stays 0),
    A' = A' + I (diagonal 1),   D = diag(row sums of A'),   A_hat = D^-1/2 A'^T D^-1/2.
  So node j aggregates from the classes i with P(L_j | L_i) >= t. The code's `+ 1e-6` in the column
  division is replaced by an exact guard (zero columns stay zero): a relative difference of ~1e-7.
- "paper" (the paper's eq. 8 and its GCN rule H' = A_hat H W):
    A'_ij = p A_ij / sum_{j' != i} A_ij' for i != j (each ROW's off-diagonal entries sum to p; a class
    with no neighbour keeps 0 off the diagonal), A'_ii = 1 - p,
    D = diag(row sums of A'),   A_hat = D^-1/2 A' D^-1/2.
  So node i aggregates from the classes j with P(L_j | L_i) >= t. Rows sum to 1 (1 - p for a class
  without neighbours), so the normalisation only rescales isolated classes (their A_hat_ii = 1).
The two forms differ in the direction of aggregation and in the diagonal (1 vs 1 - p); the paper and
its code disagree. We default to the code: it is what the paper's own results and, as far as we can
tell, the long-tailed benchmarks' ML-GCN rows were run with (the seed paper does not say).

Embeddings: GloVe 300-d word vectors in the paper; they cannot be downloaded offline, so the default is
a one-hot embedding (E = I, d = C: the first GCN layer's weight rows become free per-class vectors
mixed by the graph). `word_vectors=PATH` loads E from
- a `.npy` file of shape [C, d] in the dataset's class order, or
- a text file in GloVe / word2vec text format ("word v1 ... vd" per line; a "count dim" header line is
  skipped), matched by class name: lower-cased, "_" and "-" read as spaces, looked up whole first,
  else as the mean of the vectors of its words (as the official embeddings treat "traffic light");
  a name without separators (VOC "tvmonitor") must be in the file whole, and a class with no vector
  is an error naming it. Text files need the class names, which the harness passes as `class_names`.
Defaults: t 0.4, p 0.25, hidden 1024 (the paper's), LeakyReLU slope 0.2, no GCN bias, GCN weights
uniform(-1/sqrt(out), 1/sqrt(out)) (official init). The adjacency and the embedding are fixed buffers.
Differences from the official model: the head sits on the benchmark's neck (256-d BatchNorm'd feature,
not the 2048-d pooled ResNet-101 feature at 448 px); no separate learning rate for the GCN (the
official code trains the backbone at 0.1 x the GCN's lr); one-hot embeddings by default.
The harness passes `train_labels` (and `class_names`) to heads whose constructor accepts them.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ltml_bench.errors import ConfigError, UserError

ADJACENCY_FORMS = ("official", "paper")


def conditional_probability(train_labels: np.ndarray) -> np.ndarray:
    """P[i, j] = P(L_j | L_i) = #(i and j) / #i over the training images (diagonal 0; rows of absent classes 0)."""
    y = np.asarray(train_labels, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(f"train_labels must be [N, C], got shape {y.shape}")
    y = (y > 0.5).astype(np.float64)
    co = y.T @ y
    counts = np.diag(co).copy()
    np.fill_diagonal(co, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        prob = np.where(counts[:, None] > 0, co / np.maximum(counts[:, None], 1.0), 0.0)
    return prob


def reweighted_adjacency(train_labels: np.ndarray, t: float = 0.4, p: float = 0.25, form: str = "official") -> np.ndarray:
    """A' (binarised at t, re-weighted with p, diagonal added) before the symmetric normalisation."""
    if form not in ADJACENCY_FORMS:
        raise ConfigError(f"ml_gcn: adjacency={form!r}: choose one of {', '.join(ADJACENCY_FORMS)}")
    binary = (conditional_probability(train_labels) >= t).astype(np.float64)
    np.fill_diagonal(binary, 0.0)
    num_classes = binary.shape[0]
    if form == "official":
        col = binary.sum(axis=0, keepdims=True)
        weighted = np.where(col > 0, binary * p / np.where(col > 0, col, 1.0), 0.0)
        return weighted + np.eye(num_classes)
    row = binary.sum(axis=1, keepdims=True)
    weighted = np.where(row > 0, binary * p / np.where(row > 0, row, 1.0), 0.0)
    return weighted + (1.0 - p) * np.eye(num_classes)


def gcn_adjacency(train_labels: np.ndarray, t: float = 0.4, p: float = 0.25, form: str = "official") -> np.ndarray:
    """A_hat used as H' = A_hat H W: D^-1/2 A'^T D^-1/2 ("official") or D^-1/2 A' D^-1/2 ("paper"), D = rowsum(A')."""
    a = reweighted_adjacency(train_labels, t, p, form)
    d = a.sum(axis=1) ** -0.5  # >= 1 - p > 0 on every row (the diagonal)
    core = a.T if form == "official" else a
    return d[:, None] * core * d[None, :]


def _name_keys(name: str) -> tuple[str, list[str]]:
    whole = re.sub(r"[_\-]+", " ", name.strip().lower())
    return whole, [w for w in whole.split() if w]


def load_word_vectors(path: str, num_classes: int, class_names: Sequence[str] | None = None) -> np.ndarray:
    """Label embeddings [C, d] from a .npy file (class order) or a GloVe-format text file (by class name)."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"word_vectors {path!r} does not exist; give a .npy [C, d] file or a GloVe text file")
    if file.suffix == ".npy":
        try:
            vectors = np.load(file, allow_pickle=False)
        except ValueError as exc:
            raise UserError(f"word_vectors {path!r}: not a plain numeric .npy array ({exc})") from exc
        vectors = np.asarray(vectors, dtype=np.float64)
        if vectors.ndim != 2 or vectors.shape[0] != num_classes:
            raise UserError(f"word_vectors {path!r}: shape {vectors.shape}, expected [{num_classes}, d] in class order")
    else:
        if class_names is None:
            raise UserError(
                f"word_vectors {path!r}: a text file is matched by class name, but no class names were given; "
                f"use a .npy [{num_classes}, d] file in class order"
            )
        if len(class_names) != num_classes:
            raise UserError(f"word_vectors: {len(class_names)} class names for {num_classes} classes")
        keys = [_name_keys(n) for n in class_names]
        wanted = {whole for whole, _ in keys} | {w for _, words in keys for w in words}
        found: dict[str, np.ndarray] = {}
        dim = None
        with open(file, encoding="utf-8", errors="replace") as handle:
            for line_no, line in enumerate(handle):
                parts = line.rstrip().split(" ")
                if line_no == 0 and len(parts) == 2 and all(x.isdigit() for x in parts):
                    continue  # word2vec header "count dim"
                if len(parts) < 2:
                    continue
                # a GloVe "word" may contain spaces (e.g. from a phrase file): the last `dim` fields are numbers
                width = dim if dim is not None else len(parts) - 1
                word = " ".join(parts[: len(parts) - width]).lower()
                if word in wanted and word not in found:
                    try:
                        vec = np.asarray([float(x) for x in parts[len(parts) - width:]], dtype=np.float64)
                    except ValueError as exc:
                        raise UserError(f"word_vectors {path!r} line {line_no + 1}: not 'word v1 ... vd' ({exc})") from exc
                    dim = len(vec) if dim is None else dim
                    found[word] = vec
        rows, missing = [], []
        for name, (whole, words) in zip(class_names, keys):
            if whole in found:
                rows.append(found[whole])
            elif words and all(w in found for w in words):
                rows.append(np.mean([found[w] for w in words], axis=0))
            else:
                missing.append(name)
        if missing:
            raise UserError(f"word_vectors {path!r}: no vector for class(es) {', '.join(missing)}")
        vectors = np.stack(rows)
    if not np.isfinite(vectors).all():
        raise UserError(f"word_vectors {path!r}: non-finite values")
    return vectors


class MLGCNHead(nn.Module):
    """ML-GCN: classifier weights W [C, in_features] from a 2-layer GCN over label embeddings; logits f W^T."""

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        class_counts: Sequence[int] | np.ndarray | None = None,
        train_labels: np.ndarray | None = None,
        class_names: Sequence[str] | None = None,
        t: float = 0.4,
        p: float = 0.25,
        hidden: int = 1024,
        adjacency: str = "official",
        word_vectors: str = "",
    ) -> None:
        super().__init__()
        if train_labels is None:
            raise ValueError(
                "MLGCNHead needs the training label matrix (train_labels [N, C]) for its co-occurrence graph; "
                "the harness passes it to heads that accept `train_labels`"
            )
        labels = np.asarray(train_labels)
        if labels.ndim != 2 or labels.shape[1] != num_classes:
            raise ValueError(f"train_labels has shape {labels.shape}, expected [N, {num_classes}]")
        if not 0.0 <= t <= 1.0:
            raise ConfigError(f"ml_gcn: t={t}: the co-occurrence threshold must be in [0, 1]")
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"ml_gcn: p={p}: the re-weighting must be in [0, 1]")
        if hidden < 1:
            raise ConfigError(f"ml_gcn: hidden={hidden}: must be >= 1")
        self.t, self.p, self.form = float(t), float(p), adjacency
        adj = gcn_adjacency(labels, self.t, self.p, adjacency)
        if word_vectors:
            emb = load_word_vectors(word_vectors, num_classes, class_names)
        else:
            emb = np.eye(num_classes)
        self.register_buffer("adj", torch.tensor(adj, dtype=torch.float32))
        self.register_buffer("embedding", torch.tensor(emb, dtype=torch.float32))
        self.gc1 = nn.Parameter(torch.empty(emb.shape[1], int(hidden)))
        self.gc2 = nn.Parameter(torch.empty(int(hidden), in_features))
        for weight in (self.gc1, self.gc2):
            bound = 1.0 / math.sqrt(weight.shape[1])
            nn.init.uniform_(weight, -bound, bound)

    def classifier(self) -> torch.Tensor:
        """W [C, in_features] = A_hat LeakyReLU(A_hat E W1) W2."""
        x = self.adj @ (self.embedding @ self.gc1)
        x = F.leaky_relu(x, 0.2)
        return self.adj @ (x @ self.gc2)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features @ self.classifier().to(features.dtype).t()

    def extra_repr(self) -> str:
        return (f"num_classes={self.adj.shape[0]}, embedding_dim={self.embedding.shape[1]}, hidden={self.gc1.shape[1]}, "
                f"t={self.t:g}, p={self.p:g}, adjacency={self.form!r}")
