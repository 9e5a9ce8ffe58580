"""Shared plumbing of the loss classes: argument checks, the float32 cast, reductions, masked LSE.

Every loss of `ltml_bench.losses` derives from `MultiLabelLoss`, which

- validates the training statistics (`class_counts` n_k of length C, `num_samples` N) and raises
  `ConfigError` for anything unusable (not 1-D, negative, non-finite, n_k > N, N < 1);
- validates `reduction` against the loss's own list of allowed reductions;
- casts inputs to at least float32 before any arithmetic (bf16 / fp16 logits are promoted to
  float32, float64 stays float64 so that `torch.autograd.gradcheck` can be used), and casts its
  buffers to the same dtype.

Per-class statistics are registered as non-persistent buffers: `.to(device)` moves them, but they
are not written into a `state_dict` (they are recomputed from the counts, so checkpoints of a model
that happens to own a loss stay loadable).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from ltml_bench.errors import ConfigError

ELEMENTWISE_REDUCTIONS: tuple[str, ...] = ("mean", "sum", "batchmean")
PER_IMAGE_REDUCTIONS: tuple[str, ...] = ("mean", "sum")


def as_counts(class_counts: Any, num_samples: int, who: str) -> Tensor:
    """The per-class training counts as a float64 1-D tensor, validated against N."""
    if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral):
        raise ConfigError(f"{who}: num_samples must be an integer, got {num_samples!r}")
    if num_samples < 1:
        raise ConfigError(f"{who}: num_samples must be >= 1, got {num_samples}")
    try:
        if isinstance(class_counts, Tensor):
            counts = class_counts.detach().to("cpu", torch.float64)
        else:
            counts = torch.as_tensor(class_counts, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ConfigError(f"{who}: class_counts must be a sequence of numbers ({exc})") from None
    if counts.ndim != 1 or counts.numel() == 0:
        raise ConfigError(
            f"{who}: class_counts must be a non-empty 1-D sequence, got shape {tuple(counts.shape)}"
        )
    if not torch.isfinite(counts).all() or (counts < 0).any():
        raise ConfigError(f"{who}: class_counts must be finite and >= 0")
    if (counts > num_samples).any():
        raise ConfigError(
            f"{who}: a class count exceeds num_samples={num_samples} (max count {counts.max().item():g})"
        )
    return counts


def number(who: str, key: str, value: Any, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """`value` as a float inside [low, high] (or open ends), else `ConfigError` naming `key`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigError(f"{who}: {key} must be a finite number, got {value!r}")
    value = float(value)
    if low is not None and (value < low or (low_open and value == low)):
        raise ConfigError(f"{who}: {key} must be {'>' if low_open else '>='} {low:g}, got {value:g}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ConfigError(f"{who}: {key} must be {'<' if high_open else '<='} {high:g}, got {value:g}")
    return value


def flag(who: str, key: str, value: Any) -> bool:
    """`value` as a bool (only real booleans are accepted)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{who}: {key} must be true or false, got {value!r}")
    return value


def choice(who: str, key: str, value: Any, allowed: Sequence[str]) -> str:
    """`value` if it is one of `allowed`, else `ConfigError` listing them."""
    if value not in allowed:
        raise ConfigError(f"{who}: {key} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float32 for half types (and float32), float64 for float64."""
    return torch.promote_types(dtype, torch.float32)


def reduce_elementwise(loss: Tensor, reduction: str) -> Tensor:
    """'mean': over B x C; 'sum': over B x C; 'batchmean': sum over classes, mean over the batch."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / max(loss.shape[0], 1)


def reduce_per_image(loss: Tensor, reduction: str) -> Tensor:
    """'mean': over the batch; 'sum': over the batch."""
    return loss.mean() if reduction == "mean" else loss.sum()


def masked_logsumexp(x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Row-wise log-sum-exp of `x` over the entries where `mask` is True.

    Returns (lse[B], nonempty[B]). For a row whose mask is empty the LSE is -inf mathematically;
    here that row is computed on zeros instead (a finite, meaningless value) so that its gradient
    stays finite: the caller must discard it with `torch.where(nonempty, ..., 0)`.
    """
    nonempty = mask.any(dim=-1)
    filled = x.masked_fill(~mask, float("-inf"))
    filled = torch.where(nonempty.unsqueeze(-1), filled, torch.zeros_like(filled))
    return torch.logsumexp(filled, dim=-1), nonempty


def focal_factor(signed_logit: Tensor, gamma: float) -> Tensor:
    """(1 - p_t)^gamma written as exp(gamma * log sigmoid(signed_logit)).

    `signed_logit` is the logit oriented so that 1 - p_t = sigmoid(signed_logit) (-z for a positive,
    z for a negative). The log-space form has a finite gradient everywhere, also for gamma < 1 at
    saturated logits where pow(0, gamma - 1) would give inf * 0 = NaN.
    """
    if gamma == 0.0:
        return torch.ones_like(signed_logit)
    return torch.exp(gamma * nn.functional.logsigmoid(signed_logit))


class MultiLabelLoss(nn.Module):
    """Base class: holds C, N and the reduction; `_prepare` checks and casts the inputs.

    Subclasses set `NAME` (the `create_loss` key) and `REDUCTIONS` (allowed reductions).
    """

    NAME: str = ""
    REDUCTIONS: tuple[str, ...] = ELEMENTWISE_REDUCTIONS

    def __init__(self, class_counts: Any, num_samples: int, reduction: str) -> None:
        super().__init__()
        who = self.NAME or type(self).__name__
        counts = as_counts(class_counts, num_samples, who)
        self.num_classes = int(counts.numel())
        self.num_samples = int(num_samples)
        self.reduction = choice(who, "reduction", reduction, self.REDUCTIONS)
        self._counts64 = counts  # plain attribute, float64 on CPU; subclasses derive buffers from it

    def _prepare(self, logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """(z, y) in the compute dtype (>= float32); shapes checked against C."""
        if logits.ndim != 2 or logits.shape[-1] != self.num_classes:
            raise ValueError(
                f"{type(self).__name__}: logits must have shape [B, {self.num_classes}], "
                f"got {tuple(logits.shape)}"
            )
        if targets.shape != logits.shape:
            raise ValueError(
                f"{type(self).__name__}: targets shape {tuple(targets.shape)} != logits shape "
                f"{tuple(logits.shape)}"
            )
        dtype = compute_dtype(logits.dtype) if logits.is_floating_point() else torch.float32
        return logits.to(dtype), targets.to(dtype)

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, num_samples={self.num_samples}, reduction={self.reduction!r}"
