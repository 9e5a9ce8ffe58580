"""LDAM, multi-label ADAPTATION (Cao, Wei, Gaidon, Arechiga & Ma, NeurIPS 2019, "Learning Imbalanced
Datasets with Label-Distribution-Aware Margin Loss").

Formula: cosine classifier scores s_bk in [-1, 1]; l_bk = BCE(scale * (s_bk - Delta_k y_bk), y_bk),
Delta_k = max_margin * (n_min / n_k)^(1/4) (proportional to n_k^-1/4, largest margin max_margin, on
POSITIVE labels only); mean over images and classes. Optional deferred re-weighting (DRW): from
`drw_start_epoch` on, class k's terms are weighted by (1 - beta) / (1 - beta^n_k), normalised to mean 1.
Defaults: max_margin 0.5, scale 30 (LDAM's s), drw off, drw_beta 0.9999, drw_start_epoch 55 (the first
lr step of the 80-epoch recipe; 20 on synth_lt, its first step), uniform sampling.
Choices where the paper is silent (it is single-label softmax): sigmoid BCE per class with the margin
on every positive label; DRW is off by default because the benchmark's row is "LDAM", not
"LDAM-DRW" (`--set drw=true` turns it on); the cosine head returns 30 * cos in evaluation (rank-
equivalent to cos, and the training scale, so sigmoid of it is LDAM's own probability).
Differences from the reference code: softmax CE -> per-class BCE, column-wise DRW weights.
Loss: `ltml_bench.losses.LDAMLoss` (key "ldam"); head: `ltml_bench.heads.cosine:CosineHead`.
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="ldam",
        title="LDAM",
        paper="Cao et al., NeurIPS 2019 (multi-label adaptation)",
        summary="cosine classifier, BCE with per-class margins ~ n_k^-1/4 on positives (optional DRW)",
        loss="ldam",
        head="ltml_bench.heads.cosine:CosineHead",
        loss_params={"max_margin": 0.5, "scale": 30.0, "drw": False, "drw_beta": 0.9999, "drw_start_epoch": 55},
        head_params={"eval_scale": 30.0},
        dataset_params={"synth_lt": {"drw_start_epoch": 20}},
        sweep={"max_margin": (0.3, 0.5, 0.7), "scale": (10.0, 30.0), "drw": (False, True)},
        reported={"voc_lt": (68.73, 80.38, 69.09, 70.73), "coco_lt": (48.77, 48.38, 22.92, 40.53)},
    ),
    origin="builtin",
)
