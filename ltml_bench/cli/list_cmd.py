"""`ltml-bench list`: registered methods and datasets, built-ins and plugins."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from ltml_bench.cli.common import PluginOption, app, load_plugins, out
from ltml_bench.errors import UserError


@app.command("list")
def list_(
    fmt: str = typer.Option("rich", "--format", "-f", help="rich, md or json"),
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """Registered methods (with paper) and datasets, built-ins and plugins (`show NAME` for one of them)."""
    load_plugins(plugin)
    from ltml_bench.registry import DATASETS, METHODS

    from ltml_bench.reporting.describe import dataset_facts, method_facts

    # the same fields `ltml-bench show NAME` prints (paper, formula, hyper-parameters, sweep, code, ...)
    methods = [method_facts(m, METHODS.origin(m.name)) for m in METHODS.all()]
    datasets = [dataset_facts(d, DATASETS.origin(d.name)) for d in DATASETS.all()]
    if fmt == "json":
        sys.stdout.write(json.dumps({"methods": methods, "datasets": datasets}) + "\n")
        return
    if fmt == "md":
        lines = ["| method | title | paper |", "|---|---|---|"] + [f"| {m['name']} | {m['title']} | {m['paper']} |" for m in methods]
        lines += ["", "| dataset | summary |", "|---|---|"] + [f"| {d['name']} | {d['summary']} |" for d in datasets]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    if fmt != "rich":
        raise UserError(f"--format {fmt!r}: choose rich, md or json")
    from rich.table import Table

    t = Table(title="methods")
    for c in ("name", "title", "paper", "sampler", "origin"):
        t.add_column(c)
    for m in methods:
        t.add_row(m["name"], m["title"], m["paper"], m["sampler"], m["origin"])
    out.print(t)
    d = Table(title="datasets")
    for c in ("name", "summary", "origin"):
        d.add_column(c)
    for item in datasets:
        d.add_row(item["name"], item["summary"], item["origin"])
    out.print(d)
