"""How the loop gets its images: open the image stores, batch a split, score the test split."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import nn

from ltml_bench.data.interface import DatasetBundle, load_batch
from ltml_bench.training.execution import SingleProcess

ProgressFn = Callable[[str, int, int], None]


class Loader:
    """Batches from an in-memory `TensorImages` (fast path) or any map-style Dataset."""

    def __init__(self, dataset: Any, num_workers: int) -> None:
        self.dataset = dataset
        self.num_workers = num_workers

    @property
    def in_memory(self) -> bool:
        """Batched by the dataset itself (`get_batch`): in memory or an image store."""
        return hasattr(self.dataset, "get_batch")

    def batch(self, indices: np.ndarray, train: bool, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return load_batch(self.dataset, indices, train, generator)

    def iterate(self, index_batches: list[np.ndarray], train: bool, generator: torch.Generator) -> Iterator[tuple[Any, Any]]:
        if self.in_memory or self.num_workers == 0:
            for idx in index_batches:
                yield self.batch(idx, train, generator)
            return
        loader = torch.utils.data.DataLoader(
            self.dataset, batch_sampler=[list(map(int, b)) for b in index_batches], num_workers=self.num_workers,
            persistent_workers=False,
        )
        for x, y in loader:
            yield x, y.float()


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A batch on the training device (channels-last images on CUDA)."""
    x = x.to(device, non_blocking=True)
    if device.type == "cuda" and x.ndim == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def prepare_images(bundle: DatasetBundle, device: torch.device, execution: SingleProcess,
                   progress: ProgressFn | None = None, log: Callable[[str], None] = lambda line: None) -> None:
    """Open (building on first use) the decoded image stores of datasets that have one
    (`imagestore.StoredImages`), and move their pixels to the training device when they fit.
    In a distributed run rank 0 builds first; the other ranks then open the finished store."""
    for role, split in (("train", bundle.train), ("test", bundle.test)):
        dataset = split.dataset
        if not hasattr(dataset, "prepare"):
            continue
        report = (lambda done, total, phase=f"decode {role} images": progress(phase, done, total)) if progress else None
        if execution.is_writer and getattr(dataset, "needs_build", lambda: False)():
            log(f"decoding the {len(dataset)} {role} images once into the image store (cached for later runs)")
        execution.shared_build(lambda: dataset.prepare(report), lambda: dataset.prepare())
        if hasattr(dataset, "to"):
            dataset.to(device)


@torch.no_grad()
def predict(model: nn.Module, loader: Loader, size: int, batch_size: int, device: torch.device, autocast: Any,
            start: int = 0, stop: int | None = None) -> torch.Tensor:
    """Test scores [N, C] (float32 logits, on the CPU) from the clean model in eval mode (rows start:stop)."""
    model.eval()
    stop = size if stop is None else stop
    index_batches = [np.arange(i, min(i + batch_size, stop)) for i in range(start, stop, batch_size)]
    outputs = []
    for x, _ in loader.iterate(index_batches, train=False, generator=torch.Generator().manual_seed(0)):
        with autocast():
            out = model(to_device(x, device))
        outputs.append(out.float())
    if not outputs:
        return torch.zeros((0, 0))
    return torch.cat(outputs).cpu()
