"""LDAM loss, multi-label ADAPTATION (Cao et al., NeurIPS 2019, "Learning Imbalanced Datasets with
Label-Distribution-Aware Margin Loss").

The original LDAM is a single-label softmax loss. Adaptation used here (as in the long-tailed
multi-label benchmarks): the input is COSINE scores s in [-1, 1] from a cosine (normalised) classifier;
a class-dependent margin Delta_k = C_m / n_k^(1/4), with C_m chosen so that max_k Delta_k = max_margin,
is subtracted from the scores of POSITIVE labels only; the result is scaled by `scale` and fed to
sigmoid BCE:  l_bk = BCE(scale * (s_bk - Delta_k y_bk), y_bk).
Optional deferred re-weighting (DRW): once active, class k's terms (positive and negative) are
weighted by the class-balanced weight (1 - beta) / (1 - beta^n_k), normalised to mean 1.
Defaults: max_margin 0.5, scale 30, drw False (beta 0.9999). Reduction: mean over B x C. This is an
ADAPTATION: the reference is a single-label softmax loss.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor

from ltml_bench.losses._common import MultiLabelLoss, flag, number, reduce_elementwise


class LDAMLoss(MultiLabelLoss):
    """Multi-label LDAM (adaptation of Cao et al. 2019). INPUT: cosine scores, not logits.

    Formula: mean_{b,k} w_k BCE(scale (s_bk - Delta_k y_bk), y_bk), Delta_k = max_margin (n_min / n_k)^(1/4)
    (= C / n_k^(1/4) with max Delta = max_margin; n_k = 0 treated as 1); w_k = 1 until DRW is active, then
    w_k = c_k / mean(c), c_k = (1 - drw_beta) / (1 - drw_beta^n_k).
    Defaults: max_margin 0.5, scale 30 (LDAM's s), drw False, drw_beta 0.9999, drw_start_epoch 55 (the first
    lr step of the 80-epoch recipe, docs/protocol.md section 3.2).
    DRW control: `set_epoch(epoch)` (0-based index of the epoch about to start) sets
    `drw_active = drw and epoch >= drw_start_epoch`; a trainer may also set `drw_active` directly (the
    weights are applied whenever `drw_active` is True).
    Reduction: "mean" over B x C (a plain mean, not the weighted mean of `F.cross_entropy(weight=...)`);
    "sum" and "batchmean" offered.
    Differences from the reference (single-label softmax code): sigmoid BCE per class instead of softmax
    CE; the margin is applied to every positive label; DRW weights apply column-wise to positive and
    negative terms.
    """

    NAME = "ldam"

    def __init__(self, class_counts: Any, num_samples: int, *, max_margin: float = 0.5, scale: float = 30.0,
                 drw: bool = False, drw_beta: float = 0.9999, drw_start_epoch: int = 55,
                 reduction: str = "mean") -> None:
        super().__init__(class_counts, num_samples, reduction)
        self.max_margin = number(self.NAME, "max_margin", max_margin, low=0.0)
        self.scale = number(self.NAME, "scale", scale, low=0.0, low_open=True)
        self.drw = flag(self.NAME, "drw", drw)
        self.drw_beta = number(self.NAME, "drw_beta", drw_beta, low=0.0, high=1.0, high_open=True)
        self.drw_start_epoch = int(number(self.NAME, "drw_start_epoch", drw_start_epoch, low=0.0))
        self.drw_active = False

        counts = self._counts64.clamp(min=1.0)
        margin = counts ** -0.25
        self.register_buffer("margin", (margin * (self.max_margin / margin.max())).float(), persistent=False)
        cb = (1.0 - self.drw_beta) / (1.0 - self.drw_beta ** counts)
        self.register_buffer("drw_weight", (cb / cb.mean()).float(), persistent=False)

    def set_epoch(self, epoch: int) -> None:
        """Activate DRW from `drw_start_epoch` on (only when constructed with drw=True)."""
        self.drw_active = self.drw and int(epoch) >= self.drw_start_epoch

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        s, y = self._prepare(logits, targets)
        z = self.scale * (s - self.margin.to(s.dtype) * y)
        loss = F.binary_cross_entropy_with_logits(z, y, reduction="none")
        if self.drw_active:
            loss = loss * self.drw_weight.to(s.dtype)
        return reduce_elementwise(loss, self.reduction)

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, max_margin={self.max_margin:g}, scale={self.scale:g}, "
                f"drw={self.drw}, drw_beta={self.drw_beta:g}, drw_start_epoch={self.drw_start_epoch}, "
                f"drw_active={self.drw_active}")
