"""ZLPR loss (Su et al. 2022, "ZLPR: A Novel Loss for Multi-label Classification", arXiv:2208.02955).

Per image: log(1 + sum_{k neg} e^{z_k}) + log(1 + sum_{k pos} e^{-z_k}), i.e. the multi-label
extension of softmax cross-entropy with 0 as the decision threshold on the logit. Each term is a
log-sum-exp over the masked logits with an appended 0 logit, so it is finite (and its gradient too)
for any logits, also for images with no positive or no negative label.
No hyper-parameters; reduction: mean over images (paper, timm). Same as timm's `ZlprLoss`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ltml_bench.losses._common import PER_IMAGE_REDUCTIONS, MultiLabelLoss, reduce_per_image


def _lse_with_zero(x: Tensor, keep: Tensor) -> Tensor:
    """log(1 + sum_{keep} e^x) row-wise, as logsumexp([x masked to -inf, 0])."""
    zeros = x.new_zeros(x.shape[:-1] + (1,))
    return torch.logsumexp(torch.cat([x.masked_fill(~keep, float("-inf")), zeros], dim=-1), dim=-1)


class ZLPRLoss(MultiLabelLoss):
    """ZLPR (Su et al. 2022).

    Formula: per image log(1 + sum_neg e^z) + log(1 + sum_pos e^-z); positives are y > 0.5.
    Defaults: no hyper-parameters.
    Reduction: "mean" over the batch (paper and timm's `ZlprLoss`); "sum" offered.
    Difference from the references: none (the counts are accepted for a uniform constructor only).
    """

    NAME = "zlpr"
    REDUCTIONS = PER_IMAGE_REDUCTIONS

    def __init__(self, class_counts: Any, num_samples: int, *, reduction: str = "mean") -> None:
        super().__init__(class_counts, num_samples, reduction)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        z, y = self._prepare(logits, targets)
        pos = y > 0.5
        return reduce_per_image(_lse_with_zero(z, ~pos) + _lse_with_zero(-z, pos), self.reduction)
