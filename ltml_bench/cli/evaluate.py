"""`ltml-bench evaluate`: head / middle / tail / all mAP of a user's own prediction file."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from ltml_bench.cli.common import PluginOption, app, load_plugins, print_run_table
from ltml_bench.errors import UserError


@app.command()
def evaluate(
    dataset: str = typer.Option(..., "--dataset", "-d", help="dataset key: its test split and training counts"),
    scores: Path = typer.Option(..., "--scores", help="your predictions: CSV (image_id,<class names...>), .npz (ids, scores) or .npy"),
    set_: list[str] = typer.Option([], "--set", help="KEY=VALUE: a dataset option, head_min or tail_below (repeatable)"),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="dataset folder (sets the data_root dataset option)"),
    fmt: str = typer.Option("rich", "--format", "-f", help="rich or json"),
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """Head / middle / tail / all mAP of your own prediction file on a dataset's test split."""
    load_plugins(plugin)
    from ltml_bench.config import parse_assignments
    from ltml_bench.reporting.scoring import evaluate as api_evaluate

    if fmt not in ("rich", "json"):
        raise UserError(f"--format {fmt!r}: choose rich or json")
    settings = parse_assignments(set_)
    if data_root is not None:
        settings.setdefault("data_root", str(data_root))
    result = api_evaluate(dataset, scores, settings)
    if fmt == "json":
        sys.stdout.write(json.dumps(result) + "\n")
        return
    result.setdefault("method", scores.name)
    print_run_table([{**result, "seed": "-", "method_title": scores.name}])
