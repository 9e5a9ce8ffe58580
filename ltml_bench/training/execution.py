"""How a run executes: one process, or data-parallel across the processes `torchrun` starts.

The loop talks to an `Execution` and never branches on the world size itself:

- `SingleProcess`: every method is the identity (the whole batch, share 1, no reduction).
- `DataParallel` (WORLD_SIZE > 1; gloo on CPU, nccl on CUDA): the model is wrapped in
  DistributedDataParallel and each rank takes its consecutive share of every global batch, so the
  global batch stays `batch_size` and a run matches one process with that batch, except for
  BatchNorm, which normalises over each rank's share only (gloo has no SyncBatchNorm). Only rank 0
  (`is_writer`) writes files and prints.

`torchrun --nproc-per-node N -m ltml_bench run ...` sets WORLD_SIZE, RANK and LOCAL_RANK.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import torch
    from torch import nn

# torch is imported inside the functions: `is_main_process` is used before torch is needed


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def is_main_process() -> bool:
    """True unless this is a non-zero rank of a torchrun launch (usable before any set-up)."""
    return env_world_size() <= 1 or int(os.environ.get("RANK", "0") or 0) == 0


def shard_bounds(n: int, rank: int, world: int) -> tuple[int, int]:
    """[start, stop) of rank's consecutive share of n items (shares differ by at most one)."""
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


@dataclass
class EpochBatches:
    """The index batches of one epoch: `global_` as the whole run sees them, `load` as this
    process loads them (its share, for file-backed datasets under torchrun)."""

    global_: list[Any]
    load: list[Any]


class SingleProcess:
    """One process: the whole batch, no collectives."""

    world = 1
    rank = 0
    is_writer = True
    distributed = False

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def wrap(self, model: nn.Module) -> nn.Module:
        return model

    def epoch_batches(self, index_batches: list[Any], in_memory: bool) -> EpochBatches:
        return EpochBatches(index_batches, index_batches)

    def local_share(self, x: torch.Tensor, y: torch.Tensor, global_size: int, in_memory: bool) -> tuple[Any, Any, float]:
        """This process's rows of a loaded batch and the weight of its loss (1: the whole batch)."""
        return x, y, 1.0

    def any(self, flag: torch.Tensor) -> torch.Tensor:
        """A 0/1 int flag raised on any process (so every process stops together)."""
        return flag

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        return value

    def average_gradients(self, params: list[Any]) -> None:
        """Average the gradients of parameters that live outside the wrapped model."""

    def shared_build(self, build: Callable[[], None], open_built: Callable[[], None]) -> None:
        """Build a shared cache (the writer first; the others then open the finished one)."""
        build()

    def test_rows(self, n: int) -> tuple[int, int]:
        return 0, n

    def gather_rows(self, part: torch.Tensor) -> torch.Tensor | None:
        """Every process's test rows in order, on the writer (None elsewhere)."""
        return part

    def share_record(self, record: dict[str, Any] | None) -> dict[str, Any]:
        """The writer's record, returned on every process."""
        assert record is not None
        return record

    def stop(self, clean: bool = True) -> None:
        """Release the process group (without the final barrier when `clean` is False)."""


class DataParallel(SingleProcess):
    """Data-parallel training across the processes of a torchrun launch."""

    distributed = True

    def __init__(self, device: torch.device, world: int, rank: int, owns_group: bool) -> None:
        super().__init__(device)
        self.world = world
        self.rank = rank
        self.is_writer = rank == 0
        self.owns_group = owns_group

    def wrap(self, model: nn.Module) -> nn.Module:
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None)

    def epoch_batches(self, index_batches: list[Any], in_memory: bool) -> EpochBatches:
        # every rank needs >= 2 images of each global batch (BatchNorm); each takes a consecutive share.
        # In-memory data loads the whole global batch (the same augmentation draws as one process)
        # and keeps its share in `local_share`; file-backed data loads only its share.
        kept = [b for b in index_batches if len(b) >= 2 * self.world]
        if in_memory:
            return EpochBatches(kept, kept)
        return EpochBatches(kept, [b[slice(*shard_bounds(len(b), self.rank, self.world))] for b in kept])

    def local_share(self, x: torch.Tensor, y: torch.Tensor, global_size: int, in_memory: bool) -> tuple[Any, Any, float]:
        if in_memory:
            lo, hi = shard_bounds(global_size, self.rank, self.world)
            x, y = x[lo:hi], y[lo:hi]
        return x, y, x.shape[0] * self.world / global_size  # DDP averages over ranks: weight unequal shares

    def _all_reduce(self, tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
        import torch.distributed as dist

        dist.all_reduce(tensor, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
        return tensor

    def any(self, flag: torch.Tensor) -> torch.Tensor:
        return self._all_reduce(flag, "max")

    def mean(self, value: torch.Tensor) -> torch.Tensor:
        return self._all_reduce(value).div_(self.world)

    def average_gradients(self, params: list[Any]) -> None:
        for p in params:
            if p.grad is not None:
                self._all_reduce(p.grad).div_(self.world)

    def shared_build(self, build: Callable[[], None], open_built: Callable[[], None]) -> None:
        import torch.distributed as dist

        if self.is_writer:
            build()
            dist.barrier()
        else:
            dist.barrier()
            open_built()

    def test_rows(self, n: int) -> tuple[int, int]:
        return shard_bounds(n, self.rank, self.world)

    def gather_rows(self, part: torch.Tensor) -> torch.Tensor | None:
        import torch
        import torch.distributed as dist

        parts: list[Any] = [None] * self.world
        dist.all_gather_object(parts, part.cpu())
        return torch.cat([p for p in parts if p.numel()]) if self.is_writer else None

    def share_record(self, record: dict[str, Any] | None) -> dict[str, Any]:
        import torch.distributed as dist

        box = [record if self.is_writer else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]  # type: ignore[return-value]

    def stop(self, clean: bool = True) -> None:
        import torch.distributed as dist

        if self.owns_group and dist.is_initialized():
            if clean:
                dist.barrier()
            dist.destroy_process_group()


def start(device: torch.device) -> SingleProcess:
    """The execution for this process: `DataParallel` under torchrun (WORLD_SIZE > 1), else
    `SingleProcess`. Under torchrun on CUDA each rank takes the GPU of its LOCAL_RANK."""
    world = env_world_size()
    if world <= 1:
        return SingleProcess(device)
    import torch
    import torch.distributed as dist

    rank = int(os.environ.get("RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    owns = False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        owns = True
    return DataParallel(device, world, rank, owns)
