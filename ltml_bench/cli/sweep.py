"""`ltml-bench sweep`: every combination of methods x datasets x grid x seeds."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from ltml_bench.cli.common import PluginOption, ProtocolOption, app, err, fmt, out
from ltml_bench.errors import UserError


@app.command()
def sweep(
    methods: str = typer.Option(..., "--methods", help="comma-separated method keys, or all"),
    datasets: str = typer.Option(..., "--datasets", help="comma-separated dataset keys"),
    seeds: str = typer.Option("0", "--seeds", help="comma-separated seeds"),
    grid: list[str] = typer.Option([], "--grid", help="KEY=V1,V2 (';' separates list values): every value is a run (repeatable)"),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="override the recipe's epochs"),
    device: Optional[str] = typer.Option(None, "--device", help="auto (default), cpu, cuda, cuda:N"),
    set_: list[str] = typer.Option([], "--set", help="KEY=VALUE for every run (repeatable)"),
    out_dir: Path = typer.Option(Path("runs"), "--out", help="runs folder"),
    jobs: int = typer.Option(1, "--jobs", help="runs at once (local: processes; submitit-local: jobs)"),
    threads: int = typer.Option(0, "--threads", help="torch threads per run (0: cores // jobs; CPU results repeat exactly only with the same count)"),
    launcher: str = typer.Option("local", "--launcher", help="local, slurm or submitit-local"),
    select_on: Optional[str] = typer.Option(None, "--select-on", help="'val': choose grid values on a validation split of the training set"),
    partition: Optional[str] = typer.Option(None, "--partition", help="slurm partition"),
    time_min: int = typer.Option(60, "--time", help="slurm time limit per run, minutes"),
    gpus_per_node: int = typer.Option(0, "--gpus-per-node", help="slurm GPUs per run"),
    cpus_per_task: Optional[int] = typer.Option(None, "--cpus-per-task", help="slurm CPUs per run (also its torch threads)"),
    slurm_folder: Path = typer.Option(Path("slurm_logs"), "--slurm-folder", help="submitit's logs and pickles"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    protocol: Optional[str] = ProtocolOption,
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """Every combination of methods x datasets x grid x seeds; finished runs are skipped."""
    from ltml_bench.config import parse_assignments
    from ltml_bench.sweeps.runner import SweepSpec, counts_line, parse_grid, parse_list, run_sweep

    try:
        seed_list = [int(s) for s in parse_list(seeds, "seeds")]
    except ValueError:
        raise UserError(f"--seeds {seeds!r}: expected integers, e.g. --seeds 0,1,2") from None
    spec = SweepSpec(
        methods=parse_list(methods, "methods"), datasets=parse_list(datasets, "datasets"), seeds=seed_list,
        grid=parse_grid(grid), settings={**parse_assignments(set_), **({"protocol": protocol} if protocol else {})}, epochs=epochs, device=device, out=str(out_dir), jobs=jobs,
        launcher=launcher, select_on=select_on, plugins=[str(p) for p in plugin or []], partition=partition, time_min=time_min,
        gpus_per_node=gpus_per_node, cpus_per_task=cpus_per_task, slurm_folder=str(slurm_folder), threads=threads,
    )
    summary = run_sweep(spec, log=lambda line: err.print(line, markup=False))
    err.print(counts_line(summary), markup=False)
    if as_json:
        sys.stdout.write(json.dumps(summary) + "\n")
    else:
        for r in sorted(summary["results"], key=lambda r: (r["dataset"], r["method"], str(r.get("variant")), r["seed"])):
            m = r["map"]
            out.print(f"{r['dataset']:<12} {r['method']:<10} seed {r['seed']:<3} {str(r.get('variant')):<30} "
                      f"head {fmt(m['head'])} middle {fmt(m['middle'])} tail {fmt(m['tail'])} all {fmt(m['all'])}", markup=False)
    if summary["failed"]:
        raise typer.Exit(1)
