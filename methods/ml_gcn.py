"""ML-GCN (Chen, Wei, Wang & Guo, CVPR 2019, "Multi-Label Image Recognition with Graph Convolutional
Networks"): classifier weights produced by a GCN over the label co-occurrence graph.

Formula: W = A_hat LeakyReLU_0.2(A_hat E W1) W2 [C, d_feature], logits = f W^T, trained with plain BCE
(mean over images and classes, = the official `MultiLabelSoftMarginLoss`). A_hat comes from the
TRAINING-set conditional probabilities P(L_j | L_i) binarised at t = 0.4 and re-weighted with p = 0.25,
then normalised with D^-1/2 . D^-1/2 (exact forms in `ltml_bench.heads.ml_gcn`).
Defaults: t 0.4, p 0.25, hidden 1024 (the paper's values), adjacency "official" (the public code's
`gen_A` / `gen_adj`: column-wise re-weighting, diagonal 1, transposed propagation), one-hot label
embeddings, uniform sampling (80-epoch recipe).
Choices where the paper is silent or cannot be followed offline: GloVe vectors cannot be downloaded,
so the embedding is one-hot unless `--set word_vectors=PATH` (a .npy [C, d] in class order or a GloVe
text file matched by class name); the graph is counted on the long-tailed training set (never the
test set); `adjacency=paper` gives the paper's eq. 8 (row-wise re-weighting, diagonal 1 - p).
Differences from the official code: the GCN sits on the benchmark's neck feature (256-d, ResNet-50 at
224 px instead of 2048-d ResNet-101 at 448 px), one learning rate for everything (the official code
trains the backbone at 0.1 x lr), one-hot embeddings by default.
Head: `ltml_bench.heads.ml_gcn:MLGCNHead` (the harness passes it the training label matrix).
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="ml_gcn",
        title="ML-GCN",
        paper="Chen et al., CVPR 2019",
        summary="classifier weights from a 2-layer GCN over the training label co-occurrence graph",
        loss="erm",
        head="ltml_bench.heads.ml_gcn:MLGCNHead",
        head_params={"t": 0.4, "p": 0.25, "hidden": 1024, "adjacency": "official", "word_vectors": ""},
        sweep={"t": (0.3, 0.4, 0.5), "p": (0.1, 0.25, 0.4), "adjacency": ("official", "paper")},
        reported={"voc_lt": (70.14, 76.41, 62.39, 68.92), "coco_lt": (44.04, 48.36, 38.96, 44.24)},
    ),
    origin="builtin",
)
