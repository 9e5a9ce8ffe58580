"""Checkpoints and the per-epoch log of a run folder.

`Checkpoint` saves, after every finished epoch, the model, optimiser and loss state with the torch
(and CUDA) RNG state, and resumes from it, so that a resumed run ends with exactly the metrics of
an uninterrupted one. It is loaded with `torch.load(weights_only=True)`: tensors and plain
containers only, nothing that can execute code; before that its zip CRC-32s are checked, so a
damaged checkpoint is refused instead of resumed. `EpochLog` keeps `log.txt` at one line per
checkpointed epoch.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from ltml_bench.errors import UserError, option
from ltml_bench.storage.files import append_line, atomic_write_bytes

CHECKPOINT = "checkpoint.pt"
CHECKPOINT_KEYS = ("config_key", "epoch", "iteration", "model", "optimizer", "torch_rng")
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
        start_over = "start over with --overwrite (without --resume)"
        damage = zip_damage(self.path)
        if damage:
            raise UserError(f"--resume: checkpoint {self.path} is damaged ({damage}); nothing of it was used; {start_over}")
        try:
            state = torch.load(self.path, map_location=self.device, weights_only=True)
        except pickle.UnpicklingError:
            raise UserError(f"--resume: checkpoint {self.path} holds objects other than tensors and plain values "
                            f"(refused unread: loading it could run code); {start_over}") from None
        except Exception as exc:
            raise UserError(f"{option('--resume', 'resume', True)}: checkpoint {self.path} is unreadable ({type(exc).__name__}); {start_over}") from exc
        if not isinstance(state, dict) or state.get("config_key") != self.config_key:
            raise UserError(f"{option('--resume', 'resume', True)}: checkpoint {self.path} was written by another configuration; delete it or resume with the original options")
        missing = [key for key in CHECKPOINT_KEYS if key not in state]
        if missing:
            raise UserError(f"{option('--resume', 'resume', True)}: checkpoint {self.path} lacks {', '.join(missing)}; {start_over}")
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            if state.get("criterion"):
                criterion.load_state_dict(state["criterion"])
            torch.set_rng_state(state["torch_rng"])
            if self.device.type == "cuda" and state.get("cuda_rng") is not None:
                torch.cuda.set_rng_state(state["cuda_rng"].cpu())
            progress = Progress(int(state["epoch"]), int(state["iteration"]), float(state.get("train_seconds", 0.0)))
        except (RuntimeError, ValueError, TypeError, KeyError) as exc:
            reason = (str(exc).strip().splitlines() or [""])[0][:120]
            raise UserError(f"{option('--resume', 'resume', True)}: checkpoint {self.path} does not fit this run ({type(exc).__name__}: {reason}); {start_over}") from None
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


def zip_damage(path: Path) -> str | None:
    """Why the torch zip file at `path` is damaged (a CRC-32 of a member that does not match, a broken
    zip structure), or None. torch.load itself does not check the CRCs, so flipped bytes in tensor
    data would load silently; this reads the file once more (zlib's CRC-32, several GB/s)."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        return f"not a zip archive: {exc}"
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    return f"CRC-32 mismatch in {bad}" if bad else None


class EpochLog:
    """`log.txt`: one line per checkpointed epoch (a logged epoch is a checkpointed one)."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.path = run_dir / LOG_FILE

    def keep_epochs(self, epochs: int) -> None:
        """Drop the lines of epochs that an interrupted run did not checkpoint, and the temporary
        files of a run killed while writing."""
        # bytes, not text: a log that is not UTF-8 (edited, damaged) is kept as it is, never a traceback
        old = self.path.read_bytes().splitlines(keepends=True)[:epochs] if self.path.is_file() else []
        atomic_write_bytes(self.path, b"".join(old))
        for stale in self.run_dir.glob(".*.tmp"):
            stale.unlink(missing_ok=True)

    def append(self, line: str) -> None:
        append_line(self.path, line)
