"""The one dataset interface every builder returns, and the in-memory image store.

A builder (registered in `ltml_bench.datasets`) returns a `DatasetBundle`: class names, the
training and test splits as `Split`s (ids, multi-hot labels, and a torch `Dataset` of
`(image, target)` pairs), and provenance. Splits whose images fit in memory use `TensorImages`,
which the harness batches directly (no per-sample collate): the fast path for small images.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class Split:
    """One split: ids (strings), labels [N, C] uint8 multi-hot, and a Dataset of (image, target)."""

    ids: list[str]
    labels: np.ndarray
    dataset: Any  # torch.utils.data.Dataset; TensorImages for in-memory data

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.uint8)
        if self.labels.ndim != 2 or self.labels.shape[0] != len(self.ids):
            raise ValueError(f"labels shape {self.labels.shape} does not match {len(self.ids)} ids")

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def class_counts(self) -> np.ndarray:
        return self.labels.sum(axis=0).astype(np.int64)


@dataclass
class DatasetBundle:
    name: str
    class_names: list[str]
    train: Split
    test: Split
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader never sees a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_arrays(path: Path, make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Arrays stored at `path` (.npz), else `make()` written there atomically. A corrupt cache is
    rebuilt, never trusted."""
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except Exception:
            path.unlink(missing_ok=True)
    arrays = make()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())
    return arrays


class FileLock:
    """An exclusive advisory lock on a file (POSIX `flock`; the file is created if missing). The
    kernel drops it when the holding process ends, however it ends. A no-op where `fcntl` is missing."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.handle: Any = None

    def acquire(self, wait: bool = True) -> bool:
        """Take the lock, waiting for another holder when `wait`; without `wait`, False when another
        process holds it."""
        try:
            import fcntl
        except ImportError:  # not POSIX
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a+")
        try:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.release()
            if wait:
                raise
            return False
        return True

    def release(self) -> None:
        if self.handle is not None:
            self.handle.close()  # closing the file drops the lock
            self.handle = None


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold `FileLock(path)` for the block, waiting for it if another process holds it. Used so
    that parallel jobs build a shared cache once instead of each building it."""
    lock = FileLock(path)
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def cache_dir() -> Path:
    """Where generated data is cached: `$LTML_BENCH_CACHE`, else `~/.cache/ltml-bench`."""
    root = os.environ.get("LTML_BENCH_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "ltml-bench"


def stable_hash(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def load_batch(dataset: Any, indices: Sequence[int] | Any, train: bool, generator: Any = None) -> tuple[Any, Any]:
    """(images, float targets) of `indices` from any split dataset: its own batched `get_batch`
    when it has one (in-memory and cached stores), else its items stacked."""
    import torch

    if hasattr(dataset, "get_batch"):
        return dataset.get_batch(indices, train=train, generator=generator)
    items = [dataset[int(i)] for i in indices]
    return torch.stack([x for x, _ in items]), torch.stack([torch.as_tensor(y, dtype=torch.float32) for _, y in items])


class TensorImages:
    """A split held in memory as uint8 images [N, 3, H, W], batched with augmentation.

    `get_batch(indices, train, generator)` returns normalised float images and float targets.
    Training augmentation here is a random horizontal flip and a random shift (pad-and-crop of
    `pad` pixels), applied per image from `generator`, so a seeded run is reproducible.
    """

    def __init__(
        self,
        images: np.ndarray,
        labels: np.ndarray,
        mean: Sequence[float] = (0.5, 0.5, 0.5),
        std: Sequence[float] = (0.25, 0.25, 0.25),
        pad: int = 2,
    ) -> None:
        import torch

        self.images = torch.as_tensor(np.ascontiguousarray(images), dtype=torch.uint8)
        self.targets = torch.as_tensor(np.asarray(labels), dtype=torch.float32)
        self.mean = torch.tensor(mean).view(1, 3, 1, 1) * 255.0
        self.std = torch.tensor(std).view(1, 3, 1, 1) * 255.0
        self.pad = pad

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        x, y = self.get_batch([index], train=False)
        return x[0], y[0]

    def get_batch(self, indices: Sequence[int] | Any, train: bool, generator: Any = None) -> tuple[Any, Any]:
        import torch

        idx = torch.as_tensor(indices, dtype=torch.long)
        x = self.images[idx]
        if train:
            # flip, then replicate-pad by `pad` and crop at (dy, dx): one row and one column index
            # list per image (clamped = replicate padding; reversed = flipped), applied to the uint8
            # images before the float conversion (same pixels and random draws as padding a float copy)
            n, _, h, w = x.shape
            flip = torch.rand(n, generator=generator) < 0.5
            rows = torch.arange(h).expand(n, h)
            cols = torch.arange(w).expand(n, w)
            if self.pad > 0:
                p = self.pad
                dx = torch.randint(0, 2 * p + 1, (n,), generator=generator)
                dy = torch.randint(0, 2 * p + 1, (n,), generator=generator)
                rows = (rows + (dy.view(n, 1) - p)).clamp(0, h - 1)
                cols = (cols + (dx.view(n, 1) - p)).clamp(0, w - 1)
            cols = torch.where(flip.view(n, 1), (w - 1) - cols, cols)
            out = torch.empty_like(x)
            for i in range(n):
                out[i] = x[i].index_select(1, rows[i]).index_select(2, cols[i])
            x = out
        x = (x.float() - self.mean) / self.std
        return x.contiguous(), self.targets[idx]
