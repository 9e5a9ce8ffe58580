"""RW: binary cross-entropy re-weighted per class by smoothed inverse frequency.

Paper: the re-weighting baseline of the DB benchmark (Wu et al., ECCV 2020; HMT-Net Tables 1-2).
Formula: w_k = (N / n_k)^power; L = mean_{b,k} w_k BCE(z_bk, y_bk), the weight applied to the
positive AND the negative term of class k.
Defaults: power 0.5 (the reference code's `reweight_func="sqrt_inv"`: raw w_k = sqrt(N / n_k)),
normalize "none" (its `weight_norm=None`), uniform sampling (the 80-epoch recipe). n_k = 0 is
treated as 1.
Option: `--set normalize=mean` divides the weights by their mean over classes (mean_k w_k = 1).
Difference from the reference code: none at the defaults; its optional `weight_norm` (division by
the largest weight) is not offered. Loss: `ltml_bench.losses.ReweightedBCELoss` (key "rw").
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="rw",
        title="RW",
        paper="re-weighting baseline (Wu et al., ECCV 2020 benchmark)",
        summary="BCE with raw per-class weights sqrt(N / n_k) (the reference code)",
        loss="rw",
        loss_params={"power": 0.5, "normalize": "none"},
        sweep={"power": (0.25, 0.5, 0.75, 1.0)},
        reported={"voc_lt": (67.58, 82.81, 73.96, 74.70), "coco_lt": (48.62, 45.80, 32.02, 42.27)},
    ),
    origin="builtin",
)
