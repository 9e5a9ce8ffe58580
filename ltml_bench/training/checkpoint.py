"""Checkpoints and the per-epoch log of a run folder.

`Checkpoint` saves, after every finished epoch, the model, optimiser and loss state with the torch
(and CUDA) RNG state, and resumes from it, so that a resumed run ends with exactly the metrics of
an uninterrupted one. It is loaded with `torch.load(weights_only=True)`: tensors and plain
containers only, nothing that can execute code. `EpochLog` keeps `log.txt` at one line per
checkpointed epoch.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ltml_bench.errors import UserError, option
from ltml_bench.storage.files import atomic_write_bytes

CHECKPOINT = "checkpoint.pt"
LOG_FILE = "log.txt"


@dataclass
class Progress:
    """Where training stands: epochs finished, optimiser steps taken, seconds spent training."""

    epoch: int = 0
    iteration: int = 0
    seconds: float = 0.0


class Checkpoint:
    """`checkpoint.pt` of one run folder, tied to the run's configuration key."""

    def __init__(self, run_dir: Path, config_key: str, device: torch.device, log: Callable[[str], None]) -> None:
        self.run_dir = run_dir
        self.path = run_dir / CHECKPOINT
        self.config_key = config_key
        self.device = device
        self.log = log

    def restore(self, resume: bool, is_writer: bool, model: nn.Module, optimizer: torch.optim.Optimizer,
                criterion: nn.Module) -> Progress:
        """Load the last checkpoint into the components when `resume` and one exists; otherwise
        discard any old checkpoint (on the writer) and start at epoch 0."""
        if resume and self.path.exists():
            return self._load(model, optimizer, criterion)
        if resume:
            self.log(f"--resume: no checkpoint in {self.run_dir}; starting from epoch 1")
        elif self.path.exists():
            self.log(f"starting over: the checkpoint in {self.run_dir} is discarded (--resume continues a run)")
        if is_writer:
            self.path.unlink(missing_ok=True)
        return Progress()

    def _load(self, model: nn.Module, optimizer: torch.optim.Optimizer, criterion: nn.Module) -> Progress:
        try:
            state = torch.load(self.path, map_location=self.device, weights_only=True)
        except Exception as exc:
            raise UserError(f"{option('--resume', 'resume', True)}: checkpoint {self.path} is unreadable ({type(exc).__name__}); delete it to start over") from exc
        if not isinstance(state, dict) or state.get("config_key") != self.config_key:
            raise UserError(f"{option('--resume', 'resume', True)}: checkpoint {self.path} was written by another configuration; delete it or resume with the original options")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if state.get("criterion"):
            criterion.load_state_dict(state["criterion"])
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"].cpu())
        progress = Progress(int(state["epoch"]), int(state["iteration"]), float(state.get("train_seconds", 0.0)))
        self.log(f"resumed from {self.path} after epoch {progress.epoch}")
        return progress

    def save(self, progress: Progress, model: nn.Module, optimizer: torch.optim.Optimizer, criterion: nn.Module) -> None:
        state: dict[str, Any] = {
            "config_key": self.config_key,
            "epoch": progress.epoch,
            "iteration": progress.iteration,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "criterion": criterion.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state() if self.device.type == "cuda" else None,
            "train_seconds": progress.seconds,
        }
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(self.path, buffer.getvalue())


class EpochLog:
    """`log.txt`: one line per checkpointed epoch (a logged epoch is a checkpointed one)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.path = run_dir / LOG_FILE

    def keep_epochs(self, epochs: int) -> None:
        """Drop the lines of epochs that an interrupted run did not checkpoint, and the temporary
        files of a run killed while writing."""
        old = self.path.read_text().splitlines(keepends=True)[:epochs] if self.path.exists() else []
        atomic_write_bytes(self.path, "".join(old).encode())
        for stale in self.run_dir.glob(".*.tmp"):
            stale.unlink(missing_ok=True)

    def append(self, line: str) -> None:
        with open(self.path, "a") as handle:
            handle.write(line + "\n")
