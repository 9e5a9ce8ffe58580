"""RW: binary cross-entropy re-weighted per class by smoothed inverse frequency.

Paper: the re-weighting baseline of the DB benchmark (Wu et al., ECCV 2020; HMT-Net Tables 1-2).
Formula: w_k = (N / n_k)^power normalised to mean_k w_k = 1; L = mean_{b,k} w_k BCE(z_bk, y_bk), the
weight applied to the positive AND the negative term of class k.
Defaults: power 0.5 (the smoothed sqrt(N / n_k) of the DB code's `reweight_func="sqrt_inv"`), uniform sampling
(80-epoch recipe). n_k = 0 is treated as 1.
Choice where the protocol is silent: weights normalised to mean 1 over classes, so that the loss
scale (hence the effective learning rate) equals ERM's when the classes are balanced.
Difference from the reference code: the DB code's `reweight_func="sqrt_inv"` applies the RAW weights
sqrt(N / n_k) (unless its optional `weight_norm` divides them by their maximum), i.e. a loss several
times larger than ERM's and so a larger effective learning rate; here the mean-1 normalisation keeps
the recipe's learning rate meaningful (`--set lr=...` recovers the raw scale). Loss:
`ltml_bench.losses.ReweightedBCELoss` (key "rw").
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="rw",
        title="RW",
        paper="re-weighting baseline (Wu et al., ECCV 2020 benchmark)",
        summary="BCE with per-class weights sqrt(N / n_k), normalised to mean 1",
        loss="rw",
        loss_params={"power": 0.5},
        sweep={"power": (0.25, 0.5, 0.75, 1.0)},
        reported={"voc_lt": (67.58, 82.81, 73.96, 74.70), "coco_lt": (48.62, 45.80, 32.02, 42.27)},
    ),
    origin="builtin",
)
