"""Asymmetric loss (Ridnik et al., ICCV 2021, "Asymmetric Loss For Multi-Label Classification").

With p = sigmoid(z) and the shifted negative probability p_m = max(p - clip, 0) (clip only on negatives):
    L+ = -(1 - p)^gamma_pos log(max(p, eps)),   L- = -p_m^gamma_neg log(max(1 - p_m, eps)),
the focusing weights (1 - p)^gamma_pos and p_m^gamma_neg are NOT back-propagated (computed under
`torch.no_grad()`, never by toggling autograd globally as the official code and timm do).
The official loss is a SUM over batch and classes; timm's `AsymmetricLossMultiLabel` defaults to
sum / B. The reduction changes the effective learning rate, so it is a hyper-parameter here.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ltml_bench.losses._common import MultiLabelLoss, number, reduce_elementwise


class AsymmetricLoss(MultiLabelLoss):
    """ASL (Ridnik et al. 2021), official formulation.

    Formula: sum_{b,k} -[y (1-p)^g+ log(max(p, eps)) + (1-y) p_m^g- log(max(1-p_m, eps))],
        p = sigmoid(z), p_m = max(p - clip, 0), weights detached.
    Defaults: gamma_neg 4, gamma_pos 0, clip 0.05, eps 1e-8 (the paper's MS-COCO setting; the
    official class defaults to gamma_pos 1).
    Reduction: "sum" over B x C (official, DEFAULT); "batchmean" (sum / B, timm's default) and "mean"
    (over B x C) offered.
    Difference from the reference code: the no-grad region is local (`torch.no_grad()`), so the
    global autograd state is never touched; arithmetic in float32 even for half-precision logits.
    """

    NAME = "asl"

    def __init__(self, class_counts: Any, num_samples: int, *, gamma_neg: float = 4.0,
                 gamma_pos: float = 0.0, clip: float = 0.05, eps: float = 1e-8,
                 reduction: str = "sum") -> None:
        super().__init__(class_counts, num_samples, reduction)
        self.gamma_neg = number(self.NAME, "gamma_neg", gamma_neg, low=0.0)
        self.gamma_pos = number(self.NAME, "gamma_pos", gamma_pos, low=0.0)
        self.clip = number(self.NAME, "clip", clip, low=0.0, high=1.0, high_open=True)
        self.eps = number(self.NAME, "eps", eps, low=0.0, low_open=True, high=1.0, high_open=True)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        z, y = self._prepare(logits, targets)
        p = torch.sigmoid(z)
        p_neg = 1.0 - p  # probability of "negative"
        if self.clip > 0:
            p_neg = (p_neg + self.clip).clamp(max=1.0)  # = 1 - max(p - clip, 0)
        loss = y * torch.log(p.clamp(min=self.eps)) + (1.0 - y) * torch.log(p_neg.clamp(min=self.eps))
        if self.gamma_neg > 0 or self.gamma_pos > 0:
            with torch.no_grad():
                one_minus_pt = 1.0 - (p * y + p_neg * (1.0 - y))
                weight = torch.pow(one_minus_pt, self.gamma_pos * y + self.gamma_neg * (1.0 - y))
            loss = loss * weight
        return reduce_elementwise(-loss, self.reduction)

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, gamma_neg={self.gamma_neg:g}, gamma_pos={self.gamma_pos:g}, "
                f"clip={self.clip:g}, eps={self.eps:g}")
