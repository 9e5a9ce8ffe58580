"""The training device and the seeding that makes a CPU run deterministic."""

from __future__ import annotations

import numpy as np
import torch
import torch.utils.deterministic  # noqa: F401  (seed_everything sets one of its flags)

from ltml_bench.errors import UserError, option


def resolve_device(name: str) -> torch.device:
    """`auto` (CUDA when present), `cpu`, `cuda` or `cuda:N`; one line when it cannot be used."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise UserError(f"{option('--device', 'device', name)}: not a device name (use auto, cpu, cuda or cuda:N)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"{option('--device', 'device', name)}: CUDA is not available on this machine; use {option('--device', 'device', 'cpu')}")
    return device


def seed_everything(seed: int, device: torch.device) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
        # deterministic mode also fills every new uninitialised tensor with NaN (a debugging aid that
        # changes no result); that costs ~8% of a small model's CPU step, so it is switched off
        torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]
