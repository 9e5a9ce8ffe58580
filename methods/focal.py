"""Focal loss (Lin, Goyal, Girshick, He & Dollar, ICCV 2017), sigmoid form for multi-label.

Formula: L = mean_{b,k} scale * (1 - p_t)^gamma * BCE(z_bk, y_bk), p_t = sigmoid(z) for positives and
1 - sigmoid(z) for negatives, the focusing factor back-propagated (not detached).
Defaults: gamma 2, scale 2.0 (the DB code's `balance_param`), uniform sampling (80-epoch recipe).
Choice where the paper is silent: the benchmark's Focal numbers come from the DB code, so its constant
scale 2 and non-detached p_t are kept; no alpha = 0.25 positive/negative balancing.
Difference from the reference: none from the DB code; torchvision's `sigmoid_focal_loss` adds the
alpha balancing and has no scale. Loss: `ltml_bench.losses.FocalLoss` (key "focal").
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="focal",
        title="Focal",
        paper="Lin et al., ICCV 2017",
        summary="sigmoid focal loss, gamma 2 (DB-code convention, scale 2)",
        loss="focal",
        loss_params={"gamma": 2.0, "scale": 2.0},
        sweep={"gamma": (0.5, 1.0, 2.0, 3.0)},
        reported={"voc_lt": (69.41, 81.43, 71.56, 73.88), "coco_lt": (49.80, 54.77, 42.14, 49.46)},
    ),
    origin="builtin",
)
