"""Data-parallel training across processes started by `torchrun` (gloo on CPU, nccl on CUDA).

`torchrun --nproc-per-node N -m ltml_bench run ...` sets WORLD_SIZE, RANK and LOCAL_RANK; the
harness then initialises the process group, wraps the model in DistributedDataParallel and gives
each rank its consecutive share of every global batch (the global batch stays `batch_size`), so a
run matches a single process with the same global batch except for BatchNorm, which normalises
over each rank's share only (gloo has no SyncBatchNorm). Only rank 0 writes files and prints.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
from dataclasses import dataclass
from typing import Any

# torch is imported inside the functions: `is_main_process` is used before torch is needed


@dataclass(frozen=True)
class DistInfo:
    world: int = 1
    rank: int = 0
    local_rank: int = 0
    owns_group: bool = False  # this process initialised the group (and tears it down)

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1") or 1)


def is_main_process() -> bool:
    """True unless this is a non-zero rank of a torchrun launch (usable before any set-up)."""
    return env_world_size() <= 1 or int(os.environ.get("RANK", "0") or 0) == 0


def setup(device: torch.device) -> tuple[DistInfo, torch.device]:
    """Initialise the process group when WORLD_SIZE > 1; the device this rank uses."""
    world = env_world_size()
    if world <= 1:
        return DistInfo(), device
    import torch
    import torch.distributed as dist

    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    owns = False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        owns = True
    return DistInfo(world, rank, local_rank, owns), device


def teardown(info: DistInfo, barrier: bool = True) -> None:
    if info.enabled and info.owns_group:
        import torch.distributed as dist

        if dist.is_initialized():
            if barrier:
                dist.barrier()
            dist.destroy_process_group()


def barrier() -> None:
    import torch.distributed as dist

    dist.barrier()


def shard_bounds(n: int, rank: int, world: int) -> tuple[int, int]:
    """[start, stop) of rank's consecutive share of n items (shares differ by at most one)."""
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def all_reduce_(tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
    import torch.distributed as dist

    dist.all_reduce(tensor, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
    return tensor


def gather_rows(part: torch.Tensor, info: DistInfo) -> torch.Tensor | None:
    """Concatenate every rank's rows in rank order on rank 0 (None on the others)."""
    import torch
    import torch.distributed as dist

    parts: list[Any] = [None] * info.world
    dist.all_gather_object(parts, part.cpu())
    return torch.cat([p for p in parts if p.numel()]) if info.main else None


def broadcast_object(value: Any, info: DistInfo) -> Any:
    import torch.distributed as dist

    box = [value if info.main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]
