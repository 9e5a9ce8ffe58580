"""ERM: plain binary cross-entropy, the baseline every long-tail method is measured against.

Formula: L = mean over images b and classes k of BCE(sigmoid(z_bk), y_bk).
Defaults: the dataset's recipe without re-sampling (80 epochs on VOC-LT / COCO-LT).
Reference code: the DB repository's `ResampleLoss` with every re-balancing switched off.
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="erm",
        title="ERM",
        paper="empirical risk minimisation with BCE (baseline)",
        summary="binary cross-entropy, uniform sampling",
        loss="erm",
        reported={"voc_lt": (68.91, 80.20, 65.31, 70.86), "coco_lt": (48.48, 49.06, 24.25, 41.27)},
    ),
    origin="builtin",
)
