"""Advisory file locks: one process builds a shared cache or trains a run folder at a time."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from ltml_bench.errors import UserError


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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.path, "a+")
        except (IsADirectoryError, PermissionError, NotADirectoryError) as exc:
            raise UserError(f"lock file {self.path} cannot be opened ({exc.strerror}); remove it "
                            f"(it must be a plain file, e.g. rm -r {self.path}) and repeat the command") from None
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
