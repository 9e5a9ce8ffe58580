"""RS: plain binary cross-entropy with class-aware re-sampling.

Paper: the re-sampling baseline of the DB benchmark (Wu et al., ECCV 2020), sampler of Shen et al.
(ECCV 2016) as used in the DB code.
Formula: L = mean_{b,k} BCE(z_bk, y_bk) over batches drawn by the class-aware sampler: draw a class
from a shuffled cycle over classes, take the next 3 images of that class's own shuffled cyclic list;
one epoch = max_k n_k * C / 4 samples (docs/protocol.md section 3.3; `ltml_bench.training.samplers`).
Defaults: the dataset's re-sampling recipe (8 epochs, lr x0.1 at epochs 5 and 7 on VOC-LT / COCO-LT).
Choice where the paper is silent: none beyond the sampler's own (each epoch starts fresh cycles from
a (seed, epoch) random stream for exact resume; the reference code keeps its cycles running).
Difference from the reference code: only that cycle restart (same sampling statistics).
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="rs",
        title="RS",
        paper="class-aware re-sampling baseline (Shen et al., ECCV 2016; Wu et al., ECCV 2020 benchmark)",
        summary="binary cross-entropy with class-aware re-sampling",
        loss="erm",
        sampler="class_aware",
        sweep={"images_per_draw": (1, 3, 5)},
        reported={"voc_lt": (70.95, 82.94, 73.05, 75.38), "coco_lt": (47.58, 50.55, 41.70, 46.97)},
    ),
    origin="builtin",
)
