"""The package's own exception types.

`UserError` is bad input: the CLI prints its message as one line and exits with status 2.
Anything else escaping a command is a bug and shows a traceback.
"""

from __future__ import annotations


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
