"""`ltml-bench compare A B --dataset D`: paired differences of group mAP with intervals and p-values."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from ltml_bench.cli.common import LevelOption, PluginOption, ResamplesOption, app, bootstrap_settings, err, load_plugins, out
from ltml_bench.errors import UserError


@app.command()
def compare(
    methods: Optional[list[str]] = typer.Argument(None, help="A B: two method keys (METHOD or METHOD@VARIANT); none with --all-vs"),
    dataset: str = typer.Option(..., "--dataset", "-d", help="the dataset both ran on"),
    runs: Path = typer.Option(Path("runs"), "--runs", help="runs folder to read"),
    all_vs: Optional[str] = typer.Option(None, "--all-vs", help="compare every other method with this one (Holm-corrected)"),
    fmt: str = typer.Option("rich", "--format", "-f", help="rich, md, csv or json"),
    protocol: str = typer.Option("finetune", "--protocol", help="the track: finetune or probe"),
    resamples: int = ResamplesOption,
    level: float = LevelOption,
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """A - B in head / middle / tail / all mAP: paired over the same image resamples and shared
    seeds, with an interval and a p-value (docs/protocol.md section 7, "Uncertainty and significance")."""
    load_plugins(plugin)
    from ltml_bench.reporting import compare as comparing

    if fmt not in ("rich", "md", "csv", "json"):
        raise UserError(f"--format {fmt!r}: choose rich, md, csv or json")
    names = list(methods or [])
    settings = bootstrap_settings(resamples, level)
    if all_vs is not None:
        if names:
            raise UserError("give either two methods (A B) or --all-vs METHOD, not both")
        with err.status(f"comparing every method with {all_vs} on {dataset}"):
            result = comparing.compare_all_vs(all_vs, dataset, runs, settings, protocol)
    elif len(names) == 2:
        with err.status(f"comparing {names[0]} with {names[1]} on {dataset}"):
            result = comparing.compare(names[0], names[1], dataset, runs, settings, protocol)
    else:
        raise UserError(f"compare needs two methods (A B) or --all-vs METHOD; got {len(names)} name(s)")
    if fmt == "json":
        sys.stdout.write(json.dumps(comparing.strict_json(result), allow_nan=False) + "\n")
    elif fmt == "csv":
        sys.stdout.write(comparing.to_csv(result))
    elif fmt == "md":
        sys.stdout.write(comparing.to_markdown(result))
    else:
        from rich.table import Table

        header, rows = comparing.display_rows(result)
        title = (f"{dataset}: " + (f"every method - {result['reference']}, Holm-corrected" if all_vs else f"{result['a']} - {result['b']}")
                 + f" (mAP points; paired over {resamples} image resamples and shared seeds)")
        t = Table(title=title)
        for column in header:
            t.add_column(column, justify="left" if column in ("A", "B", "group", "seeds") else "right")
        for cells in rows:
            t.add_row(*cells)
        out.print(t)
