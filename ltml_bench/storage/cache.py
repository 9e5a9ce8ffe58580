"""The cache folder of generated data, cached arrays, and stable hashes of settings."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ltml_bench.storage.files import atomic_write_bytes


def cache_dir() -> Path:
    """Where generated data is cached: `$LTML_BENCH_CACHE`, else `~/.cache/ltml-bench`."""
    root = os.environ.get("LTML_BENCH_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "ltml-bench"


def stable_hash(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


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
