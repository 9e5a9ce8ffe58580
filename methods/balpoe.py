"""BalPoE, multi-label ADAPTATION (Sanchez Aimar, Jonnarth, Felsberg & Kuhlmann, CVPR 2023, "Balanced
Product of Calibrated Experts for Long-Tailed Recognition").

Formula: K experts (own linear heads on the shared feature), expert e trained with BCE on its logits
shifted by lambda_e * log(n_k / (N - n_k)) (the training prior logit of class k), loss = mean over
experts; inference averages the experts' UNshifted logits.
Defaults: lambdas (0, 1, 2), uniform sampling (80-epoch recipe).
Sign convention (our choice, stated in `ltml_bench.heads.balpoe`): the shift is ADDED in training, as in
logit adjustment (training on z + tau log prior makes z the balanced posterior): lambda 0 learns the
long-tailed posterior, 1 the balanced one, 2 a tail-favouring one; the mean lambda 1 makes the ensemble
target the balanced posterior, as BalPoE's default experts (the paper's lambdas {1, 0, -1} = 1 - ours;
the official code's `tau_list=(0, 1, 2)` is ours, also added to the logits, loss averaged over experts).
Guards: n_k clamped to [1, N - 1]. Differences from the paper: single-label softmax CE -> per-class BCE
with prior ODDS; experts share the whole backbone and neck (no per-expert last stage); no mixup.
Head and loss: `ltml_bench.heads.balpoe` (BalPoEHead, BalPoELoss).
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="balpoe",
        title="BalPoE",
        paper="Sanchez Aimar et al., CVPR 2023 (multi-label adaptation)",
        summary="logit-adjusted experts (lambda 0 / 1 / 2 on the prior logit), averaged at test time",
        loss="ltml_bench.heads.balpoe:BalPoELoss",
        head="ltml_bench.heads.balpoe:BalPoEHead",
        head_params={"lambdas": (0.0, 1.0, 2.0)},
        sweep={"lambdas": ((0.0, 1.0, 2.0), (0.5, 1.0, 1.5), (0.0, 2.0), (0.0, 0.5, 1.0))},
        reported={"voc_lt": (69.00, 82.17, 71.00, 73.76), "coco_lt": (48.45, 54.18, 45.96, 50.02)},
    ),
    origin="builtin",
)
