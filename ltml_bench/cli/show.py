"""`ltml-bench show NAME`: everything about one method or dataset (paper, formula, hyper-parameters
with defaults, per-dataset values and sweep grid, sampler, published numbers, where the code lives)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from ltml_bench.cli.common import PluginOption, app, load_plugins, out
from ltml_bench.errors import UserError


@app.command("show")
def show(
    name: str = typer.Argument(..., help="a method or dataset key (see `ltml-bench list`)"),
    fmt: str = typer.Option("rich", "--format", "-f", help="rich or json"),
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """One method or dataset in full: paper, formula, hyper-parameters, sweep grid, numbers, code."""
    if fmt not in ("rich", "json"):
        raise UserError(f"--format {fmt!r}: choose rich or json")
    load_plugins(plugin)
    from ltml_bench.reporting.describe import describe

    found = describe(name)
    if fmt == "json":
        sys.stdout.write(json.dumps(found) + "\n")
        return
    if "method" in found:
        _print_method(found["method"])
    if "dataset" in found:
        _print_dataset(found["dataset"])


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) if value else "-"
    return "-" if value is None else str(value)


def _print_method(facts: dict[str, Any]) -> None:
    from rich.table import Table

    out.print(f"[bold]{facts['title']}[/] (method `{facts['name']}`): {facts['summary']}")
    out.print(f"paper: {facts['paper']}", markup=False)
    out.print(f"formula: {facts['formula'] or '(not stated by the method)'}", markup=False)
    out.print(f"sampler: {facts['sampler']}")
    params = facts["hyperparameters"]
    if params:
        datasets = sorted({d for p in params for d in p["per_dataset"]})
        table = Table(title="hyper-parameters (every one is --set-able)")
        for column in ("name", "of", "default", "sweep", *datasets):
            table.add_column(column)
        for p in params:
            table.add_row(p["name"], p["of"], _text(p["default"]), _text(p["sweep"]), *(_text(p["per_dataset"].get(d)) for d in datasets))
        out.print(table)
    else:
        out.print("hyper-parameters: none of its own (harness settings still apply)")
    if facts["reported"]:
        table = Table(title="published numbers (mAP %)")
        for column in ("dataset", "head", "middle", "tail", "all"):
            table.add_column(column, justify="left" if column == "dataset" else "right")
        for dataset, values in facts["reported"].items():
            table.add_row(dataset, *(f"{values[g]:.2f}" for g in ("head", "middle", "tail", "all")))
        out.print(table)
    else:
        out.print("published numbers: none recorded")
    _print_code(facts)


def _print_dataset(facts: dict[str, Any]) -> None:
    out.print(f"[bold]{facts['title']}[/] (dataset `{facts['name']}`): {facts['summary']}")
    for title, values in (("options (--set KEY=VALUE)", facts["options"]), ("recipe", facts["recipe"]),
                          ("recipe with class-aware re-sampling", facts["recipe_resampled"])):
        text = ", ".join(f"{k}={_text(v)}" for k, v in values.items()) or "none"
        out.print(f"{title}: {text}", markup=False)
    _print_code(facts)


def _print_code(facts: dict[str, Any]) -> None:
    code = facts["code"]
    parts = [f"{k} {v}" for k, v in code.items() if v and k != "file"]
    out.print(f"code: {'; '.join(parts)}" + (f" ({code['file']})" if code.get("file") else ""), markup=False)
    out.print(f"origin: {facts['origin']}", markup=False)
