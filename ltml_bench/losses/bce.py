"""Binary cross-entropy baselines: ERM (plain BCE) and RW (re-weighted BCE).

Both are the standard multi-label baselines of the DB benchmark (Wu et al., ECCV 2020, and the
HMT-Net seed paper's Tables 1-2). The loss of one image-class pair is
    l(z, y) = -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] = softplus(z) - y z,
computed with `binary_cross_entropy_with_logits` (stable for any finite z).
Defaults: RW power 0.5 and raw weights w_k = sqrt(N / n_k), as the reference code (DB repository,
`ResampleLoss` with `reweight_func="sqrt_inv"` and no `weight_norm`). Reduction: mean over B x C,
like the DB code.
"""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor

from ltml_bench.errors import ConfigError
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

    Formula: w_k = (N / n_k)^power; loss = mean_{b,k} w_k l(z_bk, y_bk).
    Defaults: power = 0.5 (the reference code's `sqrt_inv`: w_k = sqrt(N / n_k), mean about 7-8 on
    VOC-LT / COCO-LT, so the loss is several times ERM's), normalize = "none" (the reference code's
    `weight_norm=None`). power = 1.0 gives plain inverse frequency, power = 0 gives ERM. A class with
    n_k = 0 is treated as n_k = 1.
    Option: normalize = "mean" divides the weights by their mean over classes (mean_k w_k = 1), so
    that the loss scale equals ERM's on balanced data; under SGD this gives head classes several
    times less gradient than ERM does. It is not the reference code's behaviour.
    Reduction: "mean" over B x C (a plain mean, not divided by the sum of weights as
    `F.cross_entropy(weight=...)` would be); "sum" and "batchmean" are offered.
    Difference from the reference code: none at the defaults (its optional `weight_norm` by the
    maximum weight is not offered).
    """

    NAME = "rw"
    NORMALIZE = ("none", "mean")

    def __init__(self, class_counts: Any, num_samples: int, *, power: float = 0.5, normalize: str = "none",
                 reduction: str = "mean") -> None:
        super().__init__(class_counts, num_samples, reduction)
        self.power = number(self.NAME, "power", power, low=0.0)
        if normalize not in self.NORMALIZE:
            raise ConfigError(f"rw: normalize={normalize!r}: must be 'none' (raw sqrt(N / n_k), the reference code) or 'mean' (weights scaled to mean 1)")
        self.normalize = normalize
        weight = (self.num_samples / self._counts64.clamp(min=1.0)) ** self.power
        if normalize == "mean":
            weight = weight / weight.mean()
        self.register_buffer("class_weight", weight.float(), persistent=False)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        z, y = self._prepare(logits, targets)
        loss = F.binary_cross_entropy_with_logits(z, y, reduction="none") * self.class_weight.to(z.dtype)
        return reduce_elementwise(loss, self.reduction)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, power={self.power:g}, normalize={self.normalize}"
