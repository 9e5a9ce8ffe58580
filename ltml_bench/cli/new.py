"""`ltml-bench new method NAME` / `new dataset NAME`: write a ready-to-install plugin package."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ltml_bench.cli.common import app, command_group, out

new_app = command_group("Write a ready-to-install plugin package (a method or a dataset) that already runs.")
app.add_typer(new_app, name="new")

OutOption = typer.Option(None, "--out", help="folder to create (default ./ltml-bench-NAME); must not exist or be empty")


def _write(kind: str, name: str, out_dir: Optional[Path]) -> None:
    from ltml_bench.scaffold import write_plugin

    files = write_plugin(kind, name, out_dir)
    root = files[0].parent
    for path in files:
        out.print(f"wrote {path}", markup=False)
    example = f"ltml-bench run --method {name} --epochs 1" if kind == "method" else f"ltml-bench run --dataset {name} --method erm"
    out.print(f"next: pip install -e {root} && {example}", markup=False)


@new_app.command("method")
def new_method(
    name: str = typer.Argument(..., help="the method key (lowercase letters, digits, _)"),
    out_dir: Optional[Path] = OutOption,
) -> None:
    """A method plugin package: BCE with a positive weight, an entry point, a test."""
    _write("method", name, out_dir)


@new_app.command("dataset")
def new_dataset(
    name: str = typer.Argument(..., help="the dataset key (lowercase letters, digits, _)"),
    out_dir: Optional[Path] = OutOption,
) -> None:
    """A dataset plugin package: long-tailed stripes made in memory, an entry point, a test."""
    _write("dataset", name, out_dir)
