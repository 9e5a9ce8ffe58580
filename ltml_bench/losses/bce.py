"""Binary cross-entropy baselines: ERM (plain BCE) and RW (re-weighted BCE).

Both are the standard multi-label baselines of the DB benchmark (Wu et al., ECCV 2020, and the
HMT-Net seed paper's Tables 1-2). The loss of one image-class pair is
    l(z, y) = -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] = softplus(z) - y z,
computed with `binary_cross_entropy_with_logits` (stable for any finite z).
Defaults: RW power 0.5 (w_k = sqrt(N / n_k), normalised to mean 1). Reduction: mean over B x C, like
the DB code; RW's normalisation is our stated choice (the protocol leaves it open).
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor

from ltml_bench.losses._common import MultiLabelLoss, number, reduce_elementwise


class ERMLoss(MultiLabelLoss):
    """ERM: BCE with logits (no re-balancing).

    Formula: mean_{b,k} [softplus(z_bk) - y_bk z_bk].
    Defaults: none (no hyper-parameters). The counts are accepted for a uniform constructor only.
    Reduction: "mean" over B x C (as `torch.nn.BCEWithLogitsLoss` and the DB code); "sum" and
    "batchmean" (sum over classes, mean over images) are offered.
    """

    NAME = "erm"

    def __init__(self, class_counts: Any, num_samples: int, *, reduction: str = "mean") -> None:
        super().__init__(class_counts, num_samples, reduction)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        z, y = self._prepare(logits, targets)
        return reduce_elementwise(F.binary_cross_entropy_with_logits(z, y, reduction="none"), self.reduction)


class ReweightedBCELoss(MultiLabelLoss):
    """RW: BCE with a per-class weight on BOTH the positive and the negative term.

    Formula: w_k = (N / n_k)^power, normalised so that mean_k w_k = 1; loss = mean_{b,k} w_k l(z_bk, y_bk).
    Defaults: power = 0.5 (the smoothed sqrt(N / n_k) form of the protocol); power = 1.0 gives plain
    inverse frequency, power = 0 gives ERM. A class with n_k = 0 is treated as n_k = 1.
    Reduction: "mean" over B x C (a plain mean, not divided by the sum of weights as
    `F.cross_entropy(weight=...)` would be); "sum" and "batchmean" are offered.
    Difference from the references: the protocol leaves the normalisation open; we normalise to mean
    1 over classes so that the loss scale (hence the effective learning rate) matches ERM on balanced data.
    """

    NAME = "rw"

    def __init__(self, class_counts: Any, num_samples: int, *, power: float = 0.5,
                 reduction: str = "mean") -> None:
        super().__init__(class_counts, num_samples, reduction)
        self.power = number(self.NAME, "power", power, low=0.0)
        weight = (self.num_samples / self._counts64.clamp(min=1.0)) ** self.power
        self.register_buffer("class_weight", (weight / weight.mean()).float(), persistent=False)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        z, y = self._prepare(logits, targets)
        loss = F.binary_cross_entropy_with_logits(z, y, reduction="none") * self.class_weight.to(z.dtype)
        return reduce_elementwise(loss, self.reduction)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, power={self.power:g}"
