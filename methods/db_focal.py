"""DB Focal: Distribution-Balanced loss (Wu, Huang, Zhang, Lin & Loy, ECCV 2020, "Distribution-Balanced
Loss for Multi-Label Classification in Long-Tailed Datasets").

Formula: class-aware re-sampling + re-balanced weight r_bk = (1/n_k) / sum_j y_bj / n_j smoothed to
w = alpha + sigmoid(beta (r - mu)) on positive AND negative terms + negative-tolerant regularisation
z' = z - kappa log(N / n_k - 1) / lambda, negatives softplus(lambda z') / lambda, + focal (gamma 2, x2).
Defaults: VOC-LT alpha 0.1, beta 10, mu 0.3, kappa 0.05, lambda 5 (`lam`); COCO-LT mu 0.2, lambda 2
(per-dataset values below; synth_lt, built like VOC-LT, uses the VOC-LT ones); gamma 2, scale 2; the
class-aware sampler with the re-sampling recipe (8 epochs on VOC-LT / COCO-LT).
Choices: the published code's shift kappa log(N/n_k - 1) / lambda (the paper omits "/ lambda";
`--set paper_form=true` gives the paper's); n_k clamped to [1, N - 1] in the log; an image without
positives gets weight 1 + alpha (the limit the code's inf gives).
Difference from the reference code: only those guards. Loss: `ltml_bench.losses.DistributionBalancedFocalLoss`
(key "db_focal"); the per-dataset values here equal `ltml_bench.losses.DB_FOCAL_DATASET_DEFAULTS`
(copied so that listing methods does not import torch; a test checks they agree).
"""

from ltml_bench.registry import METHODS, MethodSpec

DATASET_PARAMS = {
    "voc_lt": {"alpha": 0.1, "beta": 10.0, "mu": 0.3, "kappa": 0.05, "lam": 5.0},
    "coco_lt": {"alpha": 0.1, "beta": 10.0, "mu": 0.2, "kappa": 0.05, "lam": 2.0},
}

SPEC = METHODS.register(
    MethodSpec(
        name="db_focal",
        title="DB Focal",
        paper="Wu et al., ECCV 2020",
        summary="re-balanced weighting + negative-tolerant regularisation + focal, class-aware re-sampling",
        loss="db_focal",
        sampler="class_aware",
        loss_params={**DATASET_PARAMS["voc_lt"], "gamma": 2.0, "scale": 2.0, "paper_form": False},
        dataset_params=DATASET_PARAMS,
        sweep={"mu": (0.1, 0.2, 0.3), "lam": (2.0, 5.0), "kappa": (0.02, 0.05, 0.1)},
        reported={"voc_lt": (72.67, 83.17, 78.75, 78.29), "coco_lt": (50.91, 56.58, 51.52, 53.45)},
    ),
    origin="builtin",
)
