"""A cosine classifier head (normalised features and class weights), for LDAM and Circle loss.

Formula: s_bk = <f_b / ||f_b||, w_k / ||w_k||> in [-1, 1] (no bias). This is the `NormedLinear`
classifier of the LDAM reference code (Cao et al. 2019), which normalises both the feature and the
weight; Circle loss (Sun et al. 2020) is defined on the same kind of cosine similarities.

- Training mode returns the COSINE scores s [B, C]: what `LDAMLoss` and `CircleLoss` take (they apply
  their own scale: LDAM's s = 30, Circle's gamma).
- Eval mode returns `eval_scale * s` as logits. Multiplying by a positive constant keeps the ranking of
  every class column, so the benchmark's mAP (rank-based) does not depend on `eval_scale`; the scale
  only matters for anyone reading sigmoid probabilities or thresholding at 0. The default 30 is
  LDAM's training scale, so sigmoid(eval logits) is the probability LDAM trains (without the margin,
  which is applied to positives during training only). For Circle loss the natural decision point is a
  cosine near 0.5 (between the margins 1 - m and m), not 0: threshold-based metrics on Circle logits
  would need an offset; mAP does not.
- The cosine is computed in float32 even under bf16 autocast (a bf16 cosine times 30 is off by ~0.1).
- Weights are initialised as in the LDAM code: uniform(-1, 1), each class vector renormalised (the
  scale of w is irrelevant to the output). A zero feature gives cosine 0 (eps 1e-12 in the norms).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ltml_bench.errors import ConfigError


class CosineHead(nn.Module):
    """Cosine classifier: cosines [B, C] in training, `eval_scale` * cosines in eval mode."""

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        class_counts: Sequence[int] | np.ndarray | None = None,
        eval_scale: float = 30.0,
    ) -> None:
        super().__init__()
        if not eval_scale > 0:
            raise ConfigError(f"cosine head: eval_scale={eval_scale}: must be > 0")
        self.eval_scale = float(eval_scale)
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        with torch.no_grad():
            self.weight.uniform_(-1.0, 1.0)
            self.weight.copy_(F.normalize(self.weight, dim=1))

    def cosine(self, features: torch.Tensor) -> torch.Tensor:
        # float32 even under bf16 autocast: a bf16 cosine times LDAM's scale 30 would be off by ~0.1
        with torch.autocast(device_type=features.device.type, enabled=False):
            f = F.normalize(features.float(), dim=1, eps=1e-12)
            w = F.normalize(self.weight.float(), dim=1, eps=1e-12)
            return (f @ w.t()).clamp(-1.0, 1.0)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        s = self.cosine(features)
        return s if self.training else self.eval_scale * s

    def extra_repr(self) -> str:
        return f"in_features={self.weight.shape[1]}, num_classes={self.weight.shape[0]}, eval_scale={self.eval_scale:g}"
