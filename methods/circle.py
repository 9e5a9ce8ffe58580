"""Circle loss, multi-label form (Sun, Cheng, Zhang, Zhang, Zheng, Wang & Wei, CVPR 2020, "Circle
Loss: A Unified Perspective of Pair Similarity Optimization").

Formula: with cosine scores s from a cosine classifier, positives s_p and negatives s_n of one image,
detached weights a_p = [1 + m - s_p]_+, a_n = [s_n + m]_+, per image
L = softplus(LSE_neg(g a_n (s_n - m)) + LSE_pos(-g a_p (s_p - 1 + m))), mean over images.
Defaults: m 0.25, gamma (g) 32 (the benchmark's range is 32-64), uniform sampling (80-epoch recipe).
Choices where the paper is silent: the class-level form (an image's labels are its positives, the other
classes its negatives); the cosine head's evaluation logits are 30 * cos (rank-equivalent, so mAP is
unaffected; Circle's own decision point is a cosine near 0.5, not 0, so thresholded metrics would need
an offset). An image without a positive or a negative label contributes 0.
Difference from the paper: none beyond the class-level pairs. Loss: `ltml_bench.losses.CircleLoss`
(key "circle"); head: `ltml_bench.heads.cosine:CosineHead`.
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="circle",
        title="Circle",
        paper="Sun et al., CVPR 2020",
        summary="multi-label circle loss on a cosine classifier (m 0.25, gamma 32)",
        loss="circle",
        head="ltml_bench.heads.cosine:CosineHead",
        loss_params={"margin": 0.25, "gamma": 32.0},
        head_params={"eval_scale": 30.0},
        sweep={"gamma": (32.0, 48.0, 64.0), "margin": (0.15, 0.25, 0.35)},
        reported={"voc_lt": (70.00, 82.00, 73.88, 75.20), "coco_lt": (48.64, 55.52, 50.28, 52.00)},
    ),
    origin="builtin",
)
