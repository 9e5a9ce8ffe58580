"""Distribution-Balanced focal loss (Wu et al., ECCV 2020, "Distribution-Balanced Loss for
Multi-Label Classification in Long-Tailed Datasets").

Re-balanced weighting + negative-tolerant regularisation + focal term, as in the published code
(wutong16/DistributionBalancedLoss, `ResampleLoss` with reweight_func="rebalance", focal, logit_reg):
    r_bk = (1 / n_k) / sum_j (y_bj / n_j),   w_bk = alpha + sigmoid(beta (r_bk - mu))   (pos AND neg)
    v_k = kappa * log(N / n_k - 1) / lambda,  z' = z - v_k          (paper_form=True: no "/ lambda")
    l+ = softplus(-z') * sigmoid(-z')^gamma,   l- = softplus(lambda z') / lambda * sigmoid(lambda z')^gamma
    loss = mean_{b,k} scale * w_bk [y l+ + (1 - y) l-]
The class-aware re-sampler of the DB recipe is not part of the loss (the harness supplies it).
Defaults VOC-LT (alpha 0.1, beta 10, mu 0.3, kappa 0.05, lambda 5, gamma 2, scale 2); COCO-LT mu 0.2,
lambda 2. Reduction: mean over B x C (DB code). Differs from the code only in guards (n_k = 0 or N).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ltml_bench.losses._common import MultiLabelLoss, flag, focal_factor, number, reduce_elementwise

#: Published hyper-parameters per dataset (constructor keywords of `DistributionBalancedFocalLoss`).
DB_FOCAL_DATASET_DEFAULTS: dict[str, dict[str, float]] = {
    "voc_lt": {"alpha": 0.1, "beta": 10.0, "mu": 0.3, "kappa": 0.05, "lam": 5.0},
    "coco_lt": {"alpha": 0.1, "beta": 10.0, "mu": 0.2, "kappa": 0.05, "lam": 2.0},
}


class DistributionBalancedFocalLoss(MultiLabelLoss):
    """DB-Focal loss (Wu et al. 2020), the published code's form.

    Formula: mean_{b,k} scale * (alpha + sigmoid(beta (r_bk - mu))) *
        [y softplus(-z') sigmoid(-z')^gamma + (1 - y) softplus(lam z')/lam sigmoid(lam z')^gamma],
        r_bk = (1/n_k) / sum_j y_bj / n_j,  z' = z - kappa log(N/n_k - 1) / lam.
    Defaults (VOC-LT): alpha 0.1, beta 10, mu 0.3, kappa 0.05, lam 5 (lambda), gamma 2, scale 2,
    paper_form False. COCO-LT: mu 0.2, lam 2 (see `DB_FOCAL_DATASET_DEFAULTS`). The keyword for lambda
    is `lam` (`lambda` is reserved in Python; `create_loss` accepts "lambda" as an alias).
    Reduction: "mean" over B x C (DB code); "sum" and "batchmean" offered.
    Edge cases (documented choices): an image with no positive label has sum_j y_bj/n_j = 0, so r = +inf
    and w = alpha + 1 (the limit, as the DB code's inf gives); n_k is clamped to [1, N - 1] inside
    log(N/n_k - 1) so that a class present in every image (or in none) gets a finite prior shift, and to
    >= 1 inside 1/n_k. paper_form=True uses the paper's shift kappa log(N/n_k - 1) without "/ lambda".
    Difference from the reference code: none for 0/1 targets apart from the guards above (checked
    numerically against `timm.loss.DistributionBalancedLoss`).
    """

    NAME = "db_focal"
    HYPERPARAMETER_ALIASES = {"lambda": "lam"}

    def __init__(self, class_counts: Any, num_samples: int, *, alpha: float = 0.1, beta: float = 10.0,
                 mu: float = 0.3, kappa: float = 0.05, lam: float = 5.0, gamma: float = 2.0,
                 scale: float = 2.0, paper_form: bool = False, reduction: str = "mean") -> None:
        super().__init__(class_counts, num_samples, reduction)
        who = self.NAME
        self.alpha = number(who, "alpha", alpha, low=0.0)
        self.beta = number(who, "beta", beta, low=0.0)
        self.mu = number(who, "mu", mu)
        self.kappa = number(who, "kappa", kappa)
        self.lam = number(who, "lam (lambda)", lam, low=0.0, low_open=True)
        self.gamma = number(who, "gamma", gamma, low=0.0)
        self.scale = number(who, "scale", scale, low=0.0, low_open=True)
        self.paper_form = flag(who, "paper_form", paper_form)

        counts = self._counts64
        self.register_buffer("inv_freq", (1.0 / counts.clamp(min=1.0)).float(), persistent=False)
        # log(N / n_k - 1) is the negated prior logit log(p / (1 - p)), p = n_k / N; guard n_k in {0, N}.
        upper = max(self.num_samples - 1.0, 1.0)
        prior = torch.log(self.num_samples / counts.clamp(min=1.0, max=upper) - 1.0)
        if self.num_samples < 2:  # N = 1: no prior information at all
            prior = torch.zeros_like(prior)
        shift = self.kappa * prior / (1.0 if self.paper_form else self.lam)
        self.register_buffer("logit_shift", (-shift).float(), persistent=False)

    def rebalance_weight(self, targets: Tensor) -> Tensor:
        """alpha + sigmoid(beta (r - mu)) for 0/1 targets [B, C]; rows without positives get 1 + alpha."""
        inv_freq = self.inv_freq.to(targets.dtype)
        repeat = (targets * inv_freq).sum(dim=1, keepdim=True)
        ratio = torch.where(repeat > 0, inv_freq / repeat.clamp(min=torch.finfo(targets.dtype).tiny),
                            torch.full_like(repeat, float("inf")))
        return self.alpha + torch.sigmoid(self.beta * (ratio - self.mu))

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        z, y = self._prepare(logits, targets)
        weight = self.rebalance_weight(y)
        z = z + self.logit_shift.to(z.dtype)
        pos = F.softplus(-z) * focal_factor(-z, self.gamma)
        zn = self.lam * z
        neg = F.softplus(zn) / self.lam * focal_factor(zn, self.gamma)
        loss = self.scale * weight * (y * pos + (1.0 - y) * neg)
        return reduce_elementwise(loss, self.reduction)

    def extra_repr(self) -> str:
        return (f"{super().extra_repr()}, alpha={self.alpha:g}, beta={self.beta:g}, mu={self.mu:g}, "
                f"kappa={self.kappa:g}, lam={self.lam:g}, gamma={self.gamma:g}, scale={self.scale:g}, "
                f"paper_form={self.paper_form}")
