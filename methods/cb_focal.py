"""CB Focal: class-balanced focal loss (Cui, Jia, Lin, Song & Belongie, CVPR 2019, "Class-Balanced
Loss Based on Effective Number of Samples"), multi-label form of the DB benchmark.

Formula: c_k = (1 - beta) / (1 - beta^n_k) (the inverse effective number of samples); each image b gets
the mean weight of its positive classes W_b = sum_k y_bk c_k / sum_k y_bk, applied to all C of its
focal terms: L = mean_{b,k} W_b * 2 * (1 - p_t)^2 * BCE(z_bk, y_bk).
Defaults: convention "db" with beta 0.9 (the DB code's `CB_mode="average_w"`, raw c_k), focal gamma 2
and scale 2 (DB code), uniform sampling (80-epoch recipe).
Choice where the protocol leaves it open: the DB-code convention, because the benchmark's CB Focal
numbers were produced with the DB code; Cui's convention (beta 0.9999, per-class weights normalised to
sum C, applied column-wise) is `--set convention=cui` (beta then defaults to 0.9999). An image without
positive labels (0/0 = NaN in the DB code) gets the mean c over classes.
Difference from the reference code: only that guard. Loss: `ltml_bench.losses.ClassBalancedFocalLoss`.
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="cb_focal",
        title="CB Focal",
        paper="Cui et al., CVPR 2019",
        summary="focal loss weighted by inverse effective number of samples (DB-code convention, beta 0.9)",
        loss="cb_focal",
        loss_params={"convention": "db", "beta": None, "gamma": 2.0, "scale": 2.0},
        sweep={"beta": (0.9, 0.99, 0.999, 0.9999), "convention": ("db", "cui")},
        reported={"voc_lt": (70.30, 83.53, 72.74, 75.24), "coco_lt": (47.91, 53.01, 44.85, 49.06)},
    ),
    origin="builtin",
)
