"""The cache folder of generated data, cached arrays, and stable hashes of settings."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ltml_bench.storage.files import CACHE_HINT, atomic_write_bytes


def cache_dir() -> Path:
    """Where generated data is cached: `$LTML_BENCH_CACHE`, else `~/.cache/ltml-bench`."""
    root = os.environ.get("LTML_BENCH_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "ltml-bench"


def stable_hash(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def cached_arrays(path: Path, make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Arrays stored at `path` (.npz), else `make()` written there atomically. A damaged cache is
    rebuilt with a warning, never trusted: reading an .npz member checks its zip CRC-32, so flipped
    bytes fail the read (`BadZipFile`) instead of returning other numbers."""
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except Exception as exc:
            warnings.warn(f"cache file {path} is damaged ({type(exc).__name__}: {exc}); rebuilding it", stacklevel=2)
            path.unlink(missing_ok=True)
    arrays = make()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue(), hint=CACHE_HINT)
    return arrays
