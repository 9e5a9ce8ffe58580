"""`ltml-bench run`: train and evaluate a method on a dataset, with progress; a table or JSON of the result."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from ltml_bench.cli.common import PluginOption, ProtocolOption, app, err, load_plugins, mean_map, print_run_table
from ltml_bench.errors import UserError


@app.command()
def run(
    method: str = typer.Option("hmt", "--method", "-m", help="method key (see `ltml-bench list`)"),
    dataset: str = typer.Option("synth_lt", "--dataset", "-d", help="dataset key"),
    seed: list[int] = typer.Option([0], "--seed", "-s", help="random seed (repeat for several runs)"),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="override the recipe's epochs"),
    backbone: Optional[str] = typer.Option(None, "--backbone", help="any timm model name"),
    pretrained: Optional[bool] = typer.Option(None, "--pretrained/--no-pretrained", help="pretrained backbone weights (timm's ImageNet weights; synth_lt: its shipped synth_world weights)"),
    device: Optional[str] = typer.Option(None, "--device", help="auto (default), cpu, cuda, cuda:N"),
    set_: list[str] = typer.Option([], "--set", help="KEY=VALUE: a harness, method or dataset hyper-parameter (repeatable)"),
    out_dir: Path = typer.Option(Path("runs"), "--out", help="runs folder"),
    resume: bool = typer.Option(False, "--resume", help="continue an interrupted run from its last checkpoint"),
    overwrite: bool = typer.Option(False, "--overwrite", help="train again even if this run already finished"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="dataset folder (sets the data_root dataset option; default $LTML_BENCH_DATA, else ./data)"),
    protocol: Optional[str] = ProtocolOption,
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """Train and evaluate a method on a dataset; ends with a head / middle / tail / all table."""
    load_plugins(plugin)
    from ltml_bench.api import run as api_run
    from ltml_bench.config import parse_assignments
    from ltml_bench.registry import get_dataset, get_method

    settings = parse_assignments(set_)
    if protocol is not None:
        settings["protocol"] = protocol
    method_spec = get_method(method)  # fail fast on unknown names, before any import of torch
    dataset_spec = get_dataset(dataset)
    if data_root is not None:
        if "data_root" not in dataset_spec.options:
            raise UserError(f"--data-root: dataset {dataset!r} reads no files; drop --data-root")
        settings.setdefault("data_root", str(data_root))
    from ltml_bench.errors import Interrupted, RunInterrupted

    records = []
    try:
        for s in seed:
            records.append(_run_one(api_run, method_spec.name, dataset, s, settings, epochs, backbone, pretrained, device, out_dir, resume, overwrite))
    except RunInterrupted as exc:  # its message says what was checkpointed; status 130
        raise Interrupted(str(exc)) from None
    from ltml_bench.training.execution import is_main_process

    if not is_main_process():  # torchrun: only rank 0 prints
        return
    if as_json:
        payload = _json_summary(records[0]) if len(records) == 1 else {
            "method": records[0]["method"],
            "dataset": records[0]["dataset"],
            "seeds": [r["seed"] for r in records],
            "map": mean_map(records),
            "runs": [_json_summary(r) for r in records],
        }
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    print_run_table(records)


def _run_one(api_run: Any, method: str, dataset: str, seed: int, settings: dict[str, str], epochs: Any, backbone: Any, pretrained: Any, device: Any, out_dir: Path, resume: bool, overwrite: bool) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    with Progress(
        TextColumn(f"[bold]{method}[/] on {dataset} seed {seed} " + "{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal,
    ) as progress:
        task = progress.add_task("train", total=None)

        def on_progress(phase: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, description=phase)

        def on_log(line: str) -> None:
            progress.console.print(f"[dim]{method} seed {seed}: {line}[/]")

        record = api_run(
            method, dataset, seed, settings=settings, epochs=epochs, backbone=backbone, device=device,
            pretrained=pretrained, out=out_dir, resume=resume, overwrite=overwrite, progress=on_progress, log=on_log,
        )
    if record.get("reused"):
        err.print(f"{method} seed {seed}: already finished in {out_dir}; showing the stored result (--overwrite trains again)")
    return record


def _json_summary(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("method", "dataset", "seed", "variant", "map", "groups", "group_rule", "class_names", "per_class_ap",
            "classes_without_test_positives", "train_seconds", "config_key", "config")
    summary = {k: record.get(k) for k in keys}
    summary["reused"] = bool(record.get("reused", False))
    return summary
