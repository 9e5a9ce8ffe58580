"""LSEP loss (Li, Song & Luo, CVPR 2017, "Improving Pairwise Ranking for Multi-label Image
Classification"): the log-sum-exp pairwise ranking loss.

Per image: log(1 + sum_{v neg} sum_{u pos} exp(z_v - z_u)). The double sum factorises,
sum_v sum_u e^{z_v - z_u} = exp(LSE_neg(z) + LSE_pos(-z)), so the loss is computed in O(C) as
softplus(LSE_neg(z) + LSE_pos(-z)), stable for any logits. No hyper-parameters; reduction: mean
over images; images without a (negative, positive) pair give 0 with zero gradient. Unlike the paper,
no negative-pair sampling and no label-decision module.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ltml_bench.losses._common import PER_IMAGE_REDUCTIONS, MultiLabelLoss, masked_logsumexp, reduce_per_image


class LSEPLoss(MultiLabelLoss):
    """LSEP (Li et al. 2017).

    Formula: per image softplus(LSE_{v neg} z_v + LSE_{u pos} (-z_u)); positives are y > 0.5.
    Defaults: no hyper-parameters.
    Reduction: "mean" over the batch (images without pairs count in the denominator); "sum" offered.
    Edge case: an image with no positive or no negative label has no pair: its loss is exactly 0 and its
    gradient exactly 0 (the empty LSE is -inf; it is replaced before the LSE so no NaN can reach the gradient).
    Difference from the paper: the exact loss, without the paper's negative-pair sampling; the label
    decision (the paper's threshold/label-count estimator) is not part of the loss.
    """

    NAME = "lsep"
    REDUCTIONS = PER_IMAGE_REDUCTIONS

    def __init__(self, class_counts: Any, num_samples: int, *, reduction: str = "mean") -> None:
        super().__init__(class_counts, num_samples, reduction)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        z, y = self._prepare(logits, targets)
        pos = y > 0.5
        lse_neg, has_neg = masked_logsumexp(z, ~pos)
        lse_pos, has_pos = masked_logsumexp(-z, pos)
        per_image = torch.where(has_pos & has_neg, F.softplus(lse_neg + lse_pos), torch.zeros_like(lse_neg))
        return reduce_per_image(per_image, self.reduction)
