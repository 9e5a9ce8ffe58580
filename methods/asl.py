"""ASL: asymmetric loss (Ridnik, Ben-Baruch, Zamir, Noy, Friedman, Protter & Zelnik-Manor, ICCV 2021,
"Asymmetric Loss For Multi-Label Classification").

Formula: p = sigmoid(z), p_m = max(p - clip, 0) on negatives only;
L+ = -(1 - p)^gamma_pos log p, L- = -p_m^gamma_neg log(1 - p_m), focusing weights not back-propagated;
summed over classes, averaged over images ("batchmean").
Defaults: gamma_neg 4, gamma_pos 0, clip 0.05, eps 1e-8 (the paper's MS-COCO setting), uniform sampling
(80-epoch recipe), reduction "batchmean" (sum / B, timm's `AsymmetricLossMultiLabel` convention).
Choice where the benchmark differs from the paper: the official loss is a SUM over images and classes,
used there with Adam (lr 1e-4), which is invariant to the loss scale. Under this benchmark's SGD recipe
(lr 0.02, batch 32, gradient clipping at 35) the sum is B x C times BCE's scale: on synth_lt (seed 0,
30 epochs) it collapsed to 11.8 mAP (chance level), against 52.6 with "batchmean" and 30.0 with "mean"
(over B x C, which under-trains in the same schedule). `--set reduction=sum` restores the official form.
Difference from the reference code: the reduction above; the no-grad region of the focusing weight is
local (`torch.no_grad()`). Loss: `ltml_bench.losses.AsymmetricLoss` (key "asl").
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="asl",
        title="ASL",
        paper="Ridnik et al., ICCV 2021",
        summary="asymmetric focusing (gamma- 4, gamma+ 0) with probability margin 0.05 on negatives",
        loss="asl",
        loss_params={"gamma_neg": 4.0, "gamma_pos": 0.0, "clip": 0.05, "eps": 1e-8, "reduction": "batchmean"},
        sweep={"gamma_neg": (2.0, 4.0), "clip": (0.0, 0.05), "reduction": ("batchmean", "sum", "mean")},
        reported={"voc_lt": (70.70, 82.26, 76.29, 76.40), "coco_lt": (49.05, 53.65, 46.68, 50.21)},
    ),
    origin="builtin",
)
