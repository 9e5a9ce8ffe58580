"""BalPoE, multi-label ADAPTATION (Sanchez Aimar, Jonnarth, Felsberg & Kuhlmann, CVPR 2023,
"Balanced Product of Calibrated Experts for Long-Tailed Recognition").

The original is single-label: K experts share a backbone, expert e is trained with a logit-adjusted
softmax cross-entropy targeting the class prior pi^lambda_e, and the test-time ensemble averages the
experts' logits so that its average lambda makes it target the balanced distribution.
Multi-label adaptation used here (each class is a binary problem with prior odds n_k / (N - n_k)):
    b_k = log(n_k / (N - n_k))            (the training prior logit of class k; n_k clamped to [1, N - 1])
    expert e: its own Linear(in_features, C) on the shared feature, logits z_e
    training: L = mean_e BCE(z_e + lambda_e b, y)      (BCE a mean over images and classes)
    inference: z = mean_e z_e                            (UNshifted logits)
Sign convention: the shift is ADDED during training, as in the logit-adjustment literature (Menon et
al. 2021: training on z + tau log prior makes z estimate the balanced posterior) and as in the official
code (emasa/BalPoE-CalibratedLT, `BSExpertLoss(tau_list=(0, 1, 2))`: expert logits + tau * log prior,
loss averaged over experts), whose softmax log prior log(n_k / sum n) becomes the binary prior logit here. With the shift,
z_e + lambda_e b fits the training posterior logit, so z_e ~ log-likelihood ratio + (1 - lambda_e) b:
lambda 0 = plain BCE (the long-tailed posterior), lambda 1 = the balanced posterior (prior odds 1:1),
lambda 2 = a tail-favouring (inverse-prior) expert. The defaults (0, 1, 2) average to 1: the ensemble
targets the balanced posterior, as BalPoE's default experts {1, 0, -1} in its own parametrisation
(target prior pi^lambda; ours is lambda_here = 1 - lambda_BalPoE) average to the balanced one.
Guards: n_k = 0 and n_k = N are clamped to 1 and N - 1 (finite shifts); with N < 2 the shift is 0.
Differences from the paper: experts share the whole backbone and neck (the paper's optional own last
stage per expert is not offered); sigmoid BCE instead of softmax CE; no mixup / test-time calibration.
Experts are initialised like the recipe's classifier (N(0, 0.01), bias 0).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ltml_bench.errors import ConfigError


def prior_logit(class_counts: Sequence[int] | np.ndarray, num_samples: int) -> np.ndarray:
    """b_k = log(n_k / (N - n_k)) with n_k clamped to [1, N - 1]; zeros when N < 2."""
    counts = np.asarray(class_counts, dtype=np.float64)
    n = float(num_samples)
    if n < 2:
        return np.zeros_like(counts)
    clamped = np.clip(counts, 1.0, n - 1.0)
    return np.log(clamped / (n - clamped))


class BalPoEHead(nn.Module):
    """K linear experts; training returns the SHIFTED logits [K, B, C], eval the mean UNshifted logits [B, C].

    N (for the prior odds) is the number of rows of `train_labels` (the harness passes the training
    label matrix to heads that accept it), else `num_samples`.
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        class_counts: Sequence[int] | np.ndarray | None = None,
        train_labels: np.ndarray | None = None,
        lambdas: tuple[float, ...] = (0.0, 1.0, 2.0),
        num_samples: int = 0,
    ) -> None:
        super().__init__()
        if class_counts is None:
            raise ValueError("BalPoEHead needs the training class counts")
        counts = np.asarray(class_counts, dtype=np.float64)
        if len(counts) != num_classes:
            raise ValueError(f"class_counts has {len(counts)} entries for {num_classes} classes")
        lambdas = tuple(float(v) for v in (lambdas if isinstance(lambdas, (tuple, list)) else (lambdas,)))
        if not lambdas:
            raise ConfigError("balpoe: lambdas must name at least one expert (e.g. --set lambdas=0,1,2)")
        if train_labels is not None:
            total = int(np.asarray(train_labels).shape[0])
        elif num_samples:
            total = int(num_samples)
        else:
            raise ValueError("BalPoEHead needs N: pass train_labels [N, C] (the harness does) or num_samples")
        self.lambdas = lambdas
        self.num_samples = total
        self.experts = nn.ModuleList()
        for _ in lambdas:
            fc = nn.Linear(in_features, num_classes)
            nn.init.normal_(fc.weight, 0.0, 0.01)
            nn.init.zeros_(fc.bias)
            self.experts.append(fc)
        prior = torch.tensor(prior_logit(counts, total), dtype=torch.float32)
        shift = torch.tensor(lambdas, dtype=torch.float32)[:, None] * prior[None, :]
        self.register_buffer("prior", prior)
        self.register_buffer("shift", shift)  # [K, C] = lambda_e * b_k

    def expert_logits(self, features: torch.Tensor) -> torch.Tensor:
        """Unshifted expert logits [K, B, C]."""
        return torch.stack([fc(features) for fc in self.experts])

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        z = self.expert_logits(features)
        if not self.training:
            return z.mean(dim=0)
        return z + self.shift.to(z.dtype)[:, None, :]

    def extra_repr(self) -> str:
        return f"lambdas={self.lambdas}, num_samples={self.num_samples}"


class BalPoELoss(nn.Module):
    """Mean over experts of BCE (mean over images and classes) on the shifted logits [K, B, C].

    The shift is applied by `BalPoEHead` in training mode; given plain logits [B, C] this is BCE.
    """

    def __init__(self, class_counts: Sequence[int] | np.ndarray, num_samples: int) -> None:
        super().__init__()

    def forward(self, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        y = targets.float()
        z = output.float()
        if z.ndim == 2:
            return F.binary_cross_entropy_with_logits(z, y)
        if z.ndim != 3 or z.shape[1:] != y.shape:
            raise ValueError(f"BalPoELoss: expected expert logits [K, {y.shape[0]}, {y.shape[1]}], got {tuple(z.shape)}")
        return F.binary_cross_entropy_with_logits(z, y.unsqueeze(0).expand_as(z))
