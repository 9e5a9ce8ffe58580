"""The package's own exception types.

`UserError` is bad input: the CLI prints its message as one line and exits with status 2.
Anything else escaping a command is a bug and shows a traceback.
"""

from __future__ import annotations

import contextvars
import functools
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# Who is asking: the command line (`--set lr=...`) or Python (`settings={'lr': ...}`). Messages name
# an argument the way the caller spelled it; `ltml_bench.cli` switches to command-line names.
_COMMAND_LINE: contextvars.ContextVar[bool] = contextvars.ContextVar("ltml_bench_command_line", default=False)


def command_line_names() -> bool:
    return _COMMAND_LINE.get()


def speaks_command_line(function: F) -> F:
    """Decorate the CLI's entry point: messages raised while it runs name `--options`."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _COMMAND_LINE.set(True)
        try:
            return function(*args, **kwargs)
        finally:
            _COMMAND_LINE.reset(token)

    return wrapper  # type: ignore[return-value]


def setting(key: str, value: Any = None, *, example: bool = False) -> str:
    """A harness / method / dataset setting as the caller spells it: `--set lr=0.1` or
    `settings['lr']=0.1` (`example=True`: `--set lr=0.1` / `settings={'lr': 0.1}`)."""
    if command_line_names():
        return f"--set {key}" + ("" if value is None else f"={str(value).lower() if isinstance(value, bool) else value}")
    if value is None:
        return f"settings[{key!r}]"
    return f"settings={{{key!r}: {value!r}}}" if example else f"settings[{key!r}]={value!r}"


def option(flag: str, argument: str, value: Any = None) -> str:
    """A named option as the caller spells it: `--device 'cuda'` or `device='cuda'` (value None:
    the bare name, `--device` / `device=`)."""
    if command_line_names():
        return flag if value is None else f"{flag} {value!r}"
    return f"{argument}=" if value is None else f"{argument}={value!r}"


class UserError(Exception):
    """Bad input from the user: one clear line saying what is wrong and how to fix it."""

    exit_code = 2


class RegistryError(UserError, KeyError):
    """Unknown, duplicate or clashing name in a registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DataError(UserError):
    """A dataset root, annotation, split or label file that cannot be used as given."""


class ConfigError(UserError):
    """A bad `--set KEY=VALUE`, an unknown hyper-parameter or an incompatible checkpoint."""


class StorageError(UserError):
    """A full or read-only disk under the runs folder or the cache: the message names the folder."""


class TrainingDiverged(UserError):
    """The loss became NaN or inf; the message names method, epoch and step."""

    exit_code = 3


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during `ltml_bench.run`: the message says what was kept (the checkpointed epochs, or
    nothing before the first one) and how to go on."""


class Interrupted(UserError):
    """The command line's form of `RunInterrupted`: its message as one line, exit status 130."""

    exit_code = 130
