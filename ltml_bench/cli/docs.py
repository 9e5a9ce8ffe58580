"""`ltml-bench docs`: one markdown page per registered method."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ltml_bench.cli.common import PluginOption, app, load_plugins, out


@app.command()
def docs(
    out_dir: Path = typer.Option(Path("docs/methods"), "--out", help="folder for <method>.md pages and index.md"),
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """Write one markdown page per registered method (docstring, formula, defaults, sweep, paper, numbers)."""
    load_plugins(plugin)
    from ltml_bench.reporting.method_pages import write_method_docs

    for path in write_method_docs(out_dir):
        out.print(str(path), markup=False)
