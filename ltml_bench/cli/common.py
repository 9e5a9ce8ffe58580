"""What every command shares: the typer app, the stdout / stderr consoles, common options."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console


def command_group(help_text: str) -> typer.Typer:
    """A typer app (or sub-command group) with the project's settings: no completion, help when
    called without a command, plain exceptions and text (`main` handles errors)."""
    return typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                       rich_markup_mode=None, help=help_text)


app = command_group("ltml-bench: long-tailed multi-label classification benchmark (run, table, list).")
err = Console(stderr=True, highlight=False, soft_wrap=True)
# a pipe or file gets full-width tables (rich would otherwise assume 80 columns and truncate)
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)

ProtocolOption = typer.Option(
    None, "--protocol", help="finetune (the published protocol, default) or probe: heads on cached frozen-backbone features"
)
PluginOption = typer.Option(None, "--plugin", help="a local .py file that registers methods/datasets (repeatable)")
ResamplesOption = typer.Option(1000, "--resamples", help="bootstrap resamples of the test images")
LevelOption = typer.Option(0.95, "--level", help="confidence level of the intervals")


def bootstrap_settings(resamples: int, level: float) -> Any:
    """`BootstrapSettings` from the command's options, or one line saying what is wrong."""
    from ltml_bench.errors import UserError
    from ltml_bench.metrics.intervals import BootstrapSettings

    try:
        return BootstrapSettings(resamples, level)
    except ValueError as exc:
        raise UserError(f"--resamples/--level: {exc}") from None


def load_plugins(plugins: Optional[list[Path]]) -> None:
    from ltml_bench.registry import load_plugin_file

    for path in plugins or []:
        load_plugin_file(path)


def fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def mean_map(records: list[dict[str, Any]]) -> dict[str, Any]:
    from ltml_bench.reporting.tables import _mean_std

    return {g: _mean_std([r["map"][g] for r in records])[0] for g in ("head", "middle", "tail", "all")}


def print_run_table(records: list[dict[str, Any]]) -> None:
    from rich.table import Table

    first = records[0]
    groups = first.get("groups") or {}
    sizes = {g: str(len(groups[g])) if g in groups else "?" for g in ("head", "middle", "tail")}
    table = Table(title=f"{first.get('method_title', first['method'])} on {first['dataset']}: mAP (%)")
    table.add_column("seed")
    for g in ("head", "middle", "tail"):
        table.add_column(f"{g} ({sizes[g]})", justify="right")
    table.add_column(f"all ({len(first.get('class_names') or []) or '?'})", justify="right")
    shown = [r for r in records if isinstance(r.get("intervals"), dict)]
    if shown:
        table.add_column(f"all {100 * float(shown[0]['intervals'].get('level', 0.95)):g}% CI (test images)", justify="right")
    for r in records:
        cells = [str(r["seed"]), *(fmt(r["map"][g]) for g in ("head", "middle", "tail", "all"))]
        if shown:
            low, high = (r.get("intervals") or {}).get("map", {}).get("all", [None, None])
            cells.append("-" if low is None or high is None else f"[{low:.2f}, {high:.2f}]")
        table.add_row(*cells)
    if len(records) > 1:
        mean = mean_map(records)
        table.add_row("mean", *(fmt(mean[g]) for g in ("head", "middle", "tail", "all")), *([""] if shown else []))
    out.print(table)
    missing = first.get("classes_without_test_positives") or []
    if missing:
        out.print(f"{len(missing)} class(es) without test positives (AP undefined, left out of the means): {', '.join(missing)}")
    out.print(f"groups: {first.get('group_rule_text', '')}")
