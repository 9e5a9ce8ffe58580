"""HMT-Net's group heads and loss: the seed paper's method, step by step (the specification).

1. Classes are split by training count: head n >= tau_h, middle tau_m <= n < tau_h, tail n < tau_m
   (tau_h = 100, tau_m = 20 by default, the benchmark's group rule).
2. sigma_g = lambda / mean_{c in g} n_c per group (eq. 1), lambda = 2.
3. Training only: each group sees its own perturbed copy of the feature, f_g = f + delta_g,
   delta_g ~ N(0, sigma_g^2 I) (eqs. 2-3). Evaluation uses the clean feature.
4. Each group has its own linear head F_g scoring that group's classes (eq. 4).
5. L_g = BCE averaged over the group's classes (eq. 5); the group scores are put back at their
   class indices to form s_hat over all C classes, L_global = BCE(s_hat, y) averaged over all
   classes (eq. 6); L_all = eta * L_global + (1 - eta) * sum_g L_g (eq. 7).

Choices where the seed is silent (all overridable with `--set`):
- eta = 0.5 (the seed gives none); sweep {0.25, 0.5, 0.75}.
- f is the input of the head, i.e. the neck output (Linear -> BatchNorm1d -> Dropout, 256-d in the
  recipe), where a BatchNorm'd scale makes sigma meaningful; `--set neck_dim=0` feeds the pooled
  backbone feature instead.
- BCE terms are means over images and the group's classes (as in ERM).
- A group without classes gets no head and no loss term; sum_g runs over the non-empty groups.
- Each group head is initialised like the recipe's classifier (N(0, 0.01), bias 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ltml_bench.metrics import GROUPS, GroupRule


@dataclass
class HMTOutput:
    """Training output: fused scores [B, C] and each non-empty group's scores [B, C_g]."""

    fused: torch.Tensor
    group_logits: list[torch.Tensor]
    group_index: list[torch.Tensor]


def group_sigmas(class_counts: Sequence[int] | np.ndarray, lam: float, tau_h: int = 100, tau_m: int = 20) -> dict[str, float]:
    """sigma_g = lam / mean n_c over each non-empty group (eq. 1)."""
    counts = np.asarray(class_counts, dtype=np.float64)
    groups = GroupRule(tau_h, tau_m).assign(counts)
    return {g: float(lam / max(counts[idx].mean(), 1e-12)) for g, idx in groups.items() if idx}


class HMTHead(nn.Module):
    """Head / middle / tail heads with group-wise Gaussian feature perturbation."""

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        class_counts: Sequence[int] | np.ndarray | None = None,
        lam: float = 2.0,
        tau_h: int = 100,
        tau_m: int = 20,
    ) -> None:
        super().__init__()
        if class_counts is None:
            raise ValueError("HMTHead needs the training class counts")
        counts = np.asarray(class_counts)
        if len(counts) != num_classes:
            raise ValueError(f"class_counts has {len(counts)} entries for {num_classes} classes")
        if lam < 0:
            raise ValueError("lam must be >= 0")
        if tau_h <= tau_m:
            raise ValueError(f"tau_h={tau_h} must be above tau_m={tau_m} (head n >= tau_h, tail n < tau_m)")
        self.num_classes = num_classes
        groups = GroupRule(tau_h, tau_m).assign(counts)
        sigmas = group_sigmas(counts, lam, tau_h, tau_m)
        self.group_names = [g for g in GROUPS if groups[g]]
        self.heads = nn.ModuleList()
        for name in self.group_names:
            fc = nn.Linear(in_features, len(groups[name]))
            nn.init.normal_(fc.weight, 0.0, 0.01)
            nn.init.zeros_(fc.bias)
            self.heads.append(fc)
            self.register_buffer(f"index_{name}", torch.tensor(groups[name], dtype=torch.long))
        self.register_buffer("sigma", torch.tensor([sigmas[g] for g in self.group_names], dtype=torch.float32))

    def group_index(self) -> list[torch.Tensor]:
        return [getattr(self, f"index_{name}") for name in self.group_names]

    def _fuse(self, parts: list[torch.Tensor], index: list[torch.Tensor], batch: int, like: torch.Tensor) -> torch.Tensor:
        fused = like.new_zeros(batch, self.num_classes, dtype=parts[0].dtype)
        for part, idx in zip(parts, index):
            fused = fused.index_copy(1, idx, part)
        return fused

    def forward(self, features: torch.Tensor) -> torch.Tensor | HMTOutput:
        index = self.group_index()
        if not self.training:
            parts = [head(features) for head in self.heads]
            return self._fuse(parts, index, features.shape[0], features)
        parts = []
        for g, head in enumerate(self.heads):
            noise = torch.randn_like(features) * self.sigma[g].to(features.dtype)
            parts.append(head(features + noise))
        return HMTOutput(self._fuse(parts, index, features.shape[0], features), parts, index)


class HMTLoss(nn.Module):
    """L_all = eta * BCE(s_hat, y) + (1 - eta) * sum_g BCE(s_g, y_g); means over images and classes.

    Given a plain logits tensor (e.g. a head without groups) it reduces to BCE.
    """

    def __init__(self, class_counts: Sequence[int] | np.ndarray, num_samples: int, eta: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"eta={eta}: must be in [0, 1]")
        self.eta = float(eta)

    def forward(self, output: HMTOutput | torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        y = targets.float()
        if isinstance(output, torch.Tensor):
            return F.binary_cross_entropy_with_logits(output.float(), y)
        global_term = F.binary_cross_entropy_with_logits(output.fused.float(), y)
        group_terms = [
            F.binary_cross_entropy_with_logits(logits.float(), y.index_select(1, idx))
            for logits, idx in zip(output.group_logits, output.group_index)
        ]
        return self.eta * global_term + (1.0 - self.eta) * torch.stack(group_terms).sum()
