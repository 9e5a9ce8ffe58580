"""The `ltml-bench` command line: a thin layer over `ltml_bench.api` and the reporting modules,
one module per command (`run`, `pretrain`, `table`, `compare`, `evaluate`, `plot`, `docs`, `sweep`,
`bench`, `list_cmd`, `show`, `new`, `data`).

Data goes to stdout, progress and logs to stderr. Bad input (`UserError`) prints one line and
exits with status 2; set `LTML_BENCH_DEBUG=1` to see the traceback. torch and timm are imported
inside the commands that need them, so `--help` and `list` start fast.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
import warnings
from typing import Optional

import typer

from ltml_bench.cli import bench, compare, docs, evaluate, list_cmd, plot, pretrain, run, sweep, table  # noqa: F401  (each registers its command)
from ltml_bench.cli import new, show  # noqa: F401  (each registers its command)

from ltml_bench.cli.common import app, err
from ltml_bench.cli.data import data_app
from ltml_bench.errors import UserError, speaks_command_line

app.add_typer(data_app, name="data")


def _print_version(value: bool) -> None:
    if value:
        from ltml_bench._version import __version__

        typer.echo(f"ltml-bench {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version, help="print the version and exit"),
) -> None:
    """ltml-bench: long-tailed multi-label classification benchmark (run, table, list)."""


@speaks_command_line
def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: turns `UserError` and every command-line usage mistake into one line and exit
    status 2. The installed typer vendors its own copy of click (`typer._click`), whose exceptions
    are not the `click` package's; both are caught."""
    usage_errors, aborts, exits = _click_exception_types()
    debug = os.environ.get("LTML_BENCH_DEBUG") == "1"
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}\n"
    try:
        # without standalone mode, typer returns (not raises) the status of `typer.Exit(n)` and of Ctrl-C (130)
        code = app(args=argv, standalone_mode=False, prog_name="ltml-bench")
        if code == 130:
            raise KeyboardInterrupt
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            sys.exit(code)
    except UserError as exc:
        if debug:
            raise
        err.print(f"ltml-bench: error: {exc}", markup=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except aborts:
        err.print("ltml-bench: aborted")
        sys.exit(130)
    except exits as exc:
        sys.exit(getattr(exc, "exit_code", 0))
    except usage_errors as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # a command group called without a command: its help
            err.print(exc.ctx.get_help(), markup=False, highlight=False)
            sys.exit(2)
        if debug:
            raise
        message = " ".join(exc.format_message().split())
        context = getattr(exc, "ctx", None)
        where = context.command_path if context is not None else "ltml-bench"
        err.print(f"ltml-bench: error: {message} (see `{where} --help`)", markup=False, soft_wrap=True)
        sys.exit(2)
    except OSError as exc:  # a full or read-only disk, or a path too long, that no layer below put in words
        if debug or exc.errno not in (errno.ENOSPC, errno.EROFS, errno.ENAMETOOLONG, getattr(errno, "EDQUOT", errno.ENOSPC)):
            raise
        where = str(exc.filename or "the disk")
        if exc.errno == errno.ENAMETOOLONG:
            message = f"path {where[:60]}... is too long ({len(where)} characters, {exc.strerror}); give a shorter path"
        else:
            what = "is on a read-only file system" if exc.errno == errno.EROFS else "has no space left"
            message = f"{where} {what}; free space or give another --out / set LTML_BENCH_CACHE"
        err.print(f"ltml-bench: error: {message}", markup=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("ltml-bench: interrupted; finished epochs are checkpointed, continue with --resume")
        sys.exit(130)


def _click_exception_types() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(usage errors, aborts, exits) of typer's vendored click and of the `click` package, where installed."""
    usage: list[type[BaseException]] = []
    aborts: list[type[BaseException]] = [typer.Abort]
    exits: list[type[BaseException]] = [typer.Exit]
    for name in ("typer._click", "click"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        usage.append(module.exceptions.ClickException)
        for found, kind in ((aborts, "Abort"), (exits, "Exit")):  # typer's copy uses typer.Abort / typer.Exit
            if hasattr(module.exceptions, kind):
                found.append(getattr(module.exceptions, kind))
    return tuple(usage), tuple(aborts), tuple(exits)


if __name__ == "__main__":
    main()
