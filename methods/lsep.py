"""LSEP: log-sum-exp pairwise ranking loss (Li, Song & Luo, CVPR 2017, "Improving Pairwise Ranking
for Multi-label Image Classification").

Formula: per image log(1 + sum_{v neg} sum_{u pos} exp(z_v - z_u)) = softplus(LSE_neg(z) + LSE_pos(-z))
(O(C)), mean over images; an image without a (negative, positive) pair contributes 0 and no gradient.
Defaults: no loss hyper-parameter; uniform sampling (80-epoch recipe); scores for mAP are the logits.
Choices where the paper is silent for this benchmark: the exact loss over all pairs (the paper samples
negative pairs) and no label-decision (threshold / top-k) module, which mAP does not need; the loss is
a per-image sum over pairs, larger in scale than BCE's per-element mean, so the learning rate is worth
sweeping. Loss: `ltml_bench.losses.LSEPLoss` (key "lsep").
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="lsep",
        title="LSEP",
        paper="Li et al., CVPR 2017",
        summary="log-sum-exp pairwise ranking loss",
        loss="lsep",
        sweep={"lr": (0.005, 0.01, 0.02)},
        reported={"voc_lt": (69.00, 79.83, 70.88, 72.99), "coco_lt": (46.18, 50.91, 42.88, 47.05)},
    ),
    origin="builtin",
)
