"""An example ltml-bench plugin package: one method, a squared hinge loss on logits, and one
dataset (`ltml_bench_example_plugin.dataset`, long-tailed stripes made in memory).

Installed (`pip install ./examples/ltml-bench-example-plugin`), both are listed by `ltml-bench list`
and run with `ltml-bench run --method sq_hinge_example --dataset stripes_example`. ltml-bench imports this module only
when the method is used; the entry point names `sq_hinge_spec`, a function returning the spec.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ltml_bench.registry import MethodSpec


class SquaredHinge(torch.nn.Module):
    """Squared hinge on logits, mean over images and classes: mean(relu(margin - (2y - 1) z)^2)."""

    def __init__(self, class_counts, num_samples, margin: float = 1.0):
        super().__init__()
        self.margin = margin

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        signs = targets * 2 - 1
        return F.relu(self.margin - signs * logits.float()).pow(2).mean()


def sq_hinge_spec() -> MethodSpec:
    return MethodSpec(
        name="sq_hinge_example",
        title="Squared hinge (example plugin)",
        paper="(example plugin shipped with ltml-bench)",
        summary="squared hinge loss on logits, uniform sampling",
        loss=f"{__name__}:SquaredHinge",
        loss_params={"margin": 1.0},
        sweep={"margin": (0.5, 1.0, 2.0)},
    )
