"""ASL: asymmetric loss (Ridnik, Ben-Baruch, Zamir, Noy, Friedman, Protter & Zelnik-Manor, ICCV 2021,
"Asymmetric Loss For Multi-Label Classification").

Formula: p = sigmoid(z), p_m = max(p - clip, 0) on negatives only;
L+ = -(1 - p)^gamma_pos log p, L- = -p_m^gamma_neg log(1 - p_m), focusing weights not back-propagated.
Defaults: gamma_neg 4, gamma_pos 0, clip 0.05, eps 1e-8 (the paper's MS-COCO setting), uniform sampling
(80-epoch recipe), reduction REDUCTION_CHOICE_BELOW.
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="asl",
        title="ASL",
        paper="Ridnik et al., ICCV 2021",
        summary="asymmetric focusing (gamma- 4, gamma+ 0) with probability margin 0.05 on negatives",
        loss="asl",
        loss_params={"gamma_neg": 4.0, "gamma_pos": 0.0, "clip": 0.05, "eps": 1e-8, "reduction": "sum"},
        sweep={"gamma_neg": (2.0, 4.0), "clip": (0.0, 0.05), "reduction": ("sum", "batchmean", "mean")},
        reported={"voc_lt": (70.70, 82.26, 76.29, 76.40), "coco_lt": (49.05, 53.65, 46.68, 50.21)},
    ),
    origin="builtin",
)
