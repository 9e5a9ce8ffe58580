"""Circle loss, multi-label form (Sun et al., CVPR 2020, "Circle Loss: A Unified Perspective of Pair
Similarity Optimization").

Input: COSINE scores s (a cosine classifier), positives s_p and negatives s_n of one image. With the
optima O_p = 1 + m, O_n = -m and margins Delta_p = 1 - m, Delta_n = m, the self-paced weights
alpha_p = [1 + m - s_p]_+ and alpha_n = [s_n + m]_+ are DETACHED, and per image
    L = log(1 + sum_n sum_p exp(g alpha_n (s_n - m) - g alpha_p (s_p - 1 + m)))
      = softplus(LSE_n(g alpha_n (s_n - m)) + LSE_p(-g alpha_p (s_p - 1 + m))).
Defaults m 0.25, gamma (g) 32. Reduction: mean over images; an image without a pair gives 0 with zero
gradient. Differs from the paper only in using the classes of one image as its pairs.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ltml_bench.losses._common import (
    PER_IMAGE_REDUCTIONS,
    MultiLabelLoss,
    masked_logsumexp,
    number,
    reduce_per_image,
)


class CircleLoss(MultiLabelLoss):
    """Multi-label Circle loss (Sun et al. 2020). INPUT: cosine scores, not logits.

    Formula: per image softplus(LSE_neg(g a_n (s_n - m)) + LSE_pos(-g a_p (s_p - 1 + m))),
        a_p = [1 + m - s_p]_+, a_n = [s_n + m]_+ (detached); positives are y > 0.5.
    Defaults: m 0.25 (keyword `margin`; `create_loss` accepts "m" as an alias), gamma 32 (the scale g;
    the paper uses 32-256, the benchmark 32-64).
    Reduction: "mean" over the batch (images without pairs count in the denominator); "sum" offered.
    Edge case: an image with no positive or no negative label has no pair (one LSE is -inf): its loss is
    exactly 0 with a zero, finite gradient.
    Difference from the paper: the paper's class-level form with the classes of an image as the
    positives and the rest as negatives; no other change.
    """

    NAME = "circle"
    REDUCTIONS = PER_IMAGE_REDUCTIONS
    HYPERPARAMETER_ALIASES = {"m": "margin"}

    def __init__(self, class_counts: Any, num_samples: int, *, margin: float = 0.25, gamma: float = 32.0,
                 reduction: str = "mean") -> None:
        super().__init__(class_counts, num_samples, reduction)
        self.margin = number(self.NAME, "margin", margin, low=0.0)
        self.gamma = number(self.NAME, "gamma", gamma, low=0.0, low_open=True)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        s, y = self._prepare(logits, targets)
        m, g = self.margin, self.gamma
        pos = y > 0.5
        alpha_p = (1.0 + m - s.detach()).clamp(min=0.0)
        alpha_n = (s.detach() + m).clamp(min=0.0)
        lse_neg, has_neg = masked_logsumexp(g * alpha_n * (s - m), ~pos)
        lse_pos, has_pos = masked_logsumexp(-g * alpha_p * (s - 1.0 + m), pos)
        per_image = torch.where(has_pos & has_neg, F.softplus(lse_neg + lse_pos), torch.zeros_like(lse_neg))
        return reduce_per_image(per_image, self.reduction)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, margin={self.margin:g}, gamma={self.gamma:g}"
