"""The `ltml-bench` command line: a thin layer over `ltml_bench.api` and the reporting modules,
one module per command (`run`, `pretrain`, `table`, `compare`, `evaluate`, `plot`, `docs`, `sweep`, `bench`, `list_cmd`,
`data`).

Data goes to stdout, progress and logs to stderr. Bad input (`UserError`) prints one line and
exits with status 2; set `LTML_BENCH_DEBUG=1` to see the traceback. torch and timm are imported
inside the commands that need them, so `--help` and `list` start fast.
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Optional

from ltml_bench.cli import bench, compare, docs, evaluate, list_cmd, plot, pretrain, run, sweep, table  # noqa: F401  (each registers its command)
from ltml_bench.cli import new, show  # noqa: F401  (each registers its command)
from ltml_bench.cli.common import app, err
from ltml_bench.cli.data import data_app
from ltml_bench.errors import UserError, speaks_command_line

app.add_typer(data_app, name="data")


@speaks_command_line
def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: turns `UserError` into one line and exit status 2."""
    import click

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
    except click.exceptions.Abort:
        err.print("ltml-bench: aborted")
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        if debug:
            raise
        err.print(f"ltml-bench: error: {exc.format_message()} (see `ltml-bench {' '.join(sys.argv[1:2])} --help`)", markup=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("ltml-bench: interrupted; finished epochs are checkpointed, continue with --resume")
        sys.exit(130)


if __name__ == "__main__":
    main()
