"""`ltml-bench plot`: per-class AP, group bars and sensitivity figures from finished runs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ltml_bench.cli.common import PluginOption, app, err, load_plugins, out


@app.command()
def plot(
    runs: Path = typer.Option(Path("runs"), "--runs", help="runs folder to read"),
    out_dir: Path = typer.Option(Path("plots"), "--out", help="folder for the figures"),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="only this dataset"),
    methods: Optional[str] = typer.Option(None, "--methods", help="comma-separated method keys (default: all found)"),
    fmt: str = typer.Option("png", "--format", "-f", help="png, svg or pdf"),
    param: Optional[str] = typer.Option(None, "--param", help="hyper-parameter for the sensitivity plot, e.g. lam (default: every swept one)"),
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """Figures: per-class AP against training count, group bars, sensitivity to a swept hyper-parameter."""
    load_plugins(plugin)
    from ltml_bench.reporting.plots import make_plots

    chosen = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    for path in make_plots(runs, out_dir, dataset, chosen, fmt, param, say=lambda line: err.print(line, markup=False)):
        out.print(str(path), markup=False)
