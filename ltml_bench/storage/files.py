"""Atomic file writes: a reader never sees a half-written file."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ltml_bench.errors import StorageError


FULL_ERRNOS = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
OUT_HINT = "free space or give another --out"
CACHE_HINT = "free space or set LTML_BENCH_CACHE"


def storage_error(exc: OSError, folder: Path, hint: str = OUT_HINT) -> StorageError | None:
    """The one line for a full or read-only disk (None for other OS errors)."""
    if exc.errno in FULL_ERRNOS:
        return StorageError(f"no space left on {folder}; {hint}")
    if exc.errno == errno.EROFS:
        return StorageError(f"{folder} is on a read-only file system; {hint.replace('free space or ', '')}")
    return None


def atomic_write_bytes(path: Path, data: bytes, hint: str = OUT_HINT) -> None:
    """Write `data` to `path` so that a reader never sees a half-written file. The file gets the
    user's umask (a shared runs folder or cache stays group-readable), not mkstemp's 0600. A full
    or read-only disk is one line (`StorageError`), and the old file, if any, is left as it was."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise storage_error(exc, path.parent, hint) or exc
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise storage_error(exc, path.parent, hint) or exc
        raise


def append_line(path: Path, line: str, hint: str = OUT_HINT) -> None:
    """Append one line (a log), with the same one line for a full or read-only disk."""
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError as exc:
        raise storage_error(exc, path.parent, hint) or exc


_UMASK: list[int] = []


def _umask() -> int:
    """The process's umask, read once (os.umask can only be read by setting it)."""
    if not _UMASK:
        current = os.umask(0o022)
        os.umask(current)
        _UMASK.append(current)
    return _UMASK[0]


def write_json(path: Path, payload: Any) -> None:
    """`payload` as indented JSON (NaN refused), written atomically."""
    text = json.dumps(payload, indent=2, sort_keys=False, allow_nan=False, default=_json_default)
    atomic_write_bytes(path, (text + "\n").encode())


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
