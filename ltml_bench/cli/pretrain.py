"""`ltml-bench pretrain`: pretrain a timm backbone on a registered dataset; safetensors + provenance."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from ltml_bench.cli.common import PluginOption, app, err, load_plugins, out


@app.command()
def pretrain(
    dataset: str = typer.Option("synth_world", "--dataset", "-d", help="dataset key (any registered dataset)"),
    backbone: Optional[str] = typer.Option(None, "--backbone", help="any timm model name (default: the dataset's recipe)"),
    out_file: Path = typer.Option(..., "--out", help="weights file to write (.safetensors; provenance .json beside it)"),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="override the recipe's epochs"),
    seed: int = typer.Option(0, "--seed", "-s", help="random seed"),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch CPU threads (fix it for bit-identical weights)"),
    set_: list[str] = typer.Option([], "--set", help="KEY=VALUE: a schedule key, a dataset option or objective=auto|ce|bce"),
    resume: bool = typer.Option(False, "--resume", help="continue from the checkpoint beside --out (OUT.ckpt)"),
    as_json: bool = typer.Option(False, "--json", help="print the provenance as one JSON object on stdout"),
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """Pretrain a backbone (the stand-in for ImageNet weights); fine-tune with --set weights_file=OUT."""
    load_plugins(plugin)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from ltml_bench.config import parse_assignments
    from ltml_bench.registry import get_dataset
    from ltml_bench.training.pretrain import PretrainJob, provenance_path
    from ltml_bench.training.pretrain import pretrain as run_pretrain

    spec = get_dataset(dataset)
    command = "ltml-bench " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["pretrain"] else ""
    job = PretrainJob(spec, out_file, seed, backbone, epochs, threads, parse_assignments(set_), command, resume)
    with Progress(TextColumn(f"[bold]pretrain[/] on {dataset} " + "{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task("build", total=None)
        record = run_pretrain(job, progress=lambda phase, done, total: progress.update(task, completed=done, total=total, description=phase),
                              log=lambda line: progress.console.print(f"[dim]pretrain: {line}[/]"))
    if as_json:
        sys.stdout.write(json.dumps(record) + "\n")
        return
    score = record["test_score"]
    out.print(f"{out_file}: {record['backbone']} on {record['dataset']}, test {score['name']} {score['value']:.2f}, "
              f"{record['train_seconds']:.0f} s, sha256 {record['sha256']}", markup=False)
    out.print(f"provenance: {provenance_path(out_file)}; fine-tune with --set weights_file={out_file}", markup=False)
