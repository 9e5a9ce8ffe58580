"""Focal loss (Lin et al., ICCV 2017) and class-balanced focal loss (Cui et al., CVPR 2019).

Sigmoid focal loss of one image-class pair, with p = sigmoid(z) and p_t = p if y = 1 else 1 - p:
    FL(z, y) = scale * (1 - p_t)^gamma * BCE(z, y).
Both follow the DB code (wutong16/DistributionBalancedLoss, `ResampleLoss` with `focal=True`):
gamma = 2, a constant `balance_param` scale = 2.0, and p_t NOT detached (the focusing weight is
back-propagated). There is no alpha = 0.25 positive/negative balancing (unlike
`torchvision.ops.sigmoid_focal_loss`, which equals this loss with scale = 1 when called with alpha = -1).
(1 - p_t)^gamma is evaluated as exp(gamma * logsigmoid(+-z)), exact for 0/1 targets and with a finite
gradient at saturated logits. Reduction: mean over B x C (DB code).
CB-Focal default is the DB-code convention (beta 0.9, per-image mean weight); Cui's (beta 0.9999,
weights normalised to sum C) is `convention="cui"`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ltml_bench.losses._common import (
    MultiLabelLoss,
    choice,
    focal_factor,
    number,
    reduce_elementwise,
)


def _focal_elementwise(z: Tensor, y: Tensor, gamma: float, scale: float) -> Tensor:
    """scale * (1 - p_t)^gamma * BCE, element-wise; y is 0/1 (1 - p_t = sigmoid(z (1 - 2y)))."""
    bce = F.binary_cross_entropy_with_logits(z, y, reduction="none")
    return scale * focal_factor(z * (1.0 - 2.0 * y), gamma) * bce


class FocalLoss(MultiLabelLoss):
    """Sigmoid focal loss, DB-code convention (Lin et al. 2017).

    Formula: mean_{b,k} scale * (1 - p_t)^gamma * BCE(z_bk, y_bk), p_t not detached.
    Defaults: gamma = 2.0, scale = 2.0 (the DB code's `balance_param`).
    Reduction: "mean" over B x C (DB code); "sum" and "batchmean" offered.
    Difference from the references: none from the DB code; vs torchvision's `sigmoid_focal_loss`,
    no alpha balancing and the extra constant `scale`.
    """

    NAME = "focal"

    def __init__(self, class_counts: Any, num_samples: int, *, gamma: float = 2.0, scale: float = 2.0,
                 reduction: str = "mean") -> None:
        super().__init__(class_counts, num_samples, reduction)
        self.gamma = number(self.NAME, "gamma", gamma, low=0.0)
        self.scale = number(self.NAME, "scale", scale, low=0.0, low_open=True)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        z, y = self._prepare(logits, targets)
        return reduce_elementwise(_focal_elementwise(z, y, self.gamma, self.scale), self.reduction)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, gamma={self.gamma:g}, scale={self.scale:g}"


class ClassBalancedFocalLoss(MultiLabelLoss):
    """Class-balanced focal loss (Cui et al., CVPR 2019), with two conventions.

    Class weight from the effective number of samples: c_k = (1 - beta) / (1 - beta^n_k)
    (n_k = 0 is treated as 1). Loss = mean_{b,k} W_bk * scale * (1 - p_t)^gamma * BCE(z_bk, y_bk), with
    - convention="db" (DEFAULT, the DB code's `CB_mode="average_w"`, beta = 0.9, raw c_k): each image
      gets the mean c_k of its positive classes, applied to all C terms of that image,
      W_bk = sum_j y_bj c_j / sum_j y_bj. An image without positive labels (0 / 0 in the DB code, NaN)
      gets the mean of c over all classes instead.
    - convention="cui" (beta = 0.9999): per-class weights normalised to sum C, w_k = C c_k / sum_j c_j,
      applied to the positive and negative term of class k (column-wise), W_bk = w_k.
    Defaults: convention "db", beta None (= 0.9 for "db", 0.9999 for "cui"), gamma 2.0, scale 2.0.
    Reduction: "mean" over B x C (DB code); "sum" and "batchmean" offered.
    Choice: "db" is the default because the benchmark's CB-Focal numbers (HMT-Net Tables 1-2, taken
    from the DB paper) were produced by the DB code. Differences from Cui's code: the multi-label
    column-wise application of w_k, no division by the number of positive labels, and the DB focal scale.
    """

    NAME = "cb_focal"
    CONVENTIONS: tuple[str, ...] = ("db", "cui")
    DEFAULT_BETA = {"db": 0.9, "cui": 0.9999}

    def __init__(self, class_counts: Any, num_samples: int, *, convention: str = "db",
                 beta: float | None = None, gamma: float = 2.0, scale: float = 2.0,
                 reduction: str = "mean") -> None:
        super().__init__(class_counts, num_samples, reduction)
        self.convention = choice(self.NAME, "convention", convention, self.CONVENTIONS)
        if beta is None:
            beta = self.DEFAULT_BETA[self.convention]
        self.beta = number(self.NAME, "beta", beta, low=0.0, high=1.0, high_open=True)
        self.gamma = number(self.NAME, "gamma", gamma, low=0.0)
        self.scale = number(self.NAME, "scale", scale, low=0.0, low_open=True)
        counts = self._counts64.clamp(min=1.0)
        weight = (1.0 - self.beta) / (1.0 - self.beta ** counts)
        if self.convention == "cui":
            weight = weight * (self.num_classes / weight.sum())
        self.register_buffer("class_weight", weight.float(), persistent=False)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        z, y = self._prepare(logits, targets)
        weight = self.class_weight.to(z.dtype)
        if self.convention == "db":
            num_pos = y.sum(dim=1, keepdim=True)
            mean_pos = (y * weight).sum(dim=1, keepdim=True) / num_pos.clamp(min=1.0)
            weight = torch.where(num_pos > 0, mean_pos, weight.mean())  # [B, 1]
        loss = weight * _focal_elementwise(z, y, self.gamma, self.scale)
        return reduce_elementwise(loss, self.reduction)

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, convention={self.convention!r}, beta={self.beta:g}, "
                f"gamma={self.gamma:g}, scale={self.scale:g}")
