"""ZLPR: zero-bounded log-sum-exp & pairwise rank-based loss (Su, Zhu, Wen, Pan & Liu, 2022,
"ZLPR: A Novel Loss for Multi-label Classification", arXiv:2208.02955).

Formula: per image log(1 + sum_{k neg} e^{z_k}) + log(1 + sum_{k pos} e^{-z_k}), mean over images; the
multi-label extension of softmax cross-entropy, with decision threshold 0 on the logit.
Defaults: no loss hyper-parameter; uniform sampling (80-epoch recipe).
Choice where the paper is silent for this benchmark: the recipe's SGD learning rate is kept; the loss
is a per-image sum over classes (larger than BCE's per-element mean), so lr is worth sweeping.
Difference from the reference: none (same as timm's `ZlprLoss`). Loss: `ltml_bench.losses.ZLPRLoss`.
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="zlpr",
        title="ZLPR",
        paper="Su et al., 2022 (arXiv:2208.02955)",
        summary="zero-bounded log-sum-exp pairwise loss (threshold 0 on the logit)",
        loss="zlpr",
        sweep={"lr": (0.005, 0.01, 0.02)},
        reported={"voc_lt": (71.00, 82.67, 72.38, 75.10), "coco_lt": (47.59, 53.73, 47.00, 49.90)},
    ),
    origin="builtin",
)
