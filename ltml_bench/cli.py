"""The `ltml-bench` command line: a thin layer over `ltml_bench.api` and `ltml_bench.report`.

Data goes to stdout, progress and logs to stderr. Bad input (`UserError`) prints one line and
exits with status 2; set `LTML_BENCH_DEBUG=1` to see the traceback. torch and timm are imported
inside the commands that need them, so `--help` and `list` start fast.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

from ltml_bench.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="ltml-bench: long-tailed multi-label classification benchmark (run, table, list).",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
# a pipe or file gets full-width tables (rich would otherwise assume 80 columns and truncate)
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)

ProtocolOption = typer.Option(
    None, "--protocol", help="finetune (the published protocol, default) or probe: heads on cached frozen-backbone features"
)
PluginOption = typer.Option(None, "--plugin", help="a local .py file that registers methods/datasets (repeatable)")


def _load_plugins(plugins: Optional[list[Path]]) -> None:
    from ltml_bench.registry import load_plugin_file

    for path in plugins or []:
        load_plugin_file(path)


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


@app.command()
def run(
    method: str = typer.Option("hmt", "--method", "-m", help="method key (see `ltml-bench list`)"),
    dataset: str = typer.Option("synth_lt", "--dataset", "-d", help="dataset key"),
    seed: list[int] = typer.Option([0], "--seed", "-s", help="random seed (repeat for several runs)"),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="override the recipe's epochs"),
    backbone: Optional[str] = typer.Option(None, "--backbone", help="any timm model name"),
    pretrained: Optional[bool] = typer.Option(None, "--pretrained/--no-pretrained", help="ImageNet weights for the backbone"),
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
    _load_plugins(plugin)
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
    records = []
    for s in seed:
        records.append(_run_one(api_run, method_spec.name, dataset, s, settings, epochs, backbone, pretrained, device, out_dir, resume, overwrite))
    from ltml_bench.distributed import is_main_process

    if not is_main_process():  # torchrun: only rank 0 prints
        return
    if as_json:
        payload = _json_summary(records[0]) if len(records) == 1 else {
            "method": records[0]["method"],
            "dataset": records[0]["dataset"],
            "seeds": [r["seed"] for r in records],
            "map": _mean_map(records),
            "runs": [_json_summary(r) for r in records],
        }
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    _print_run_table(records)


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
            "classes_without_test_positives", "train_seconds", "config_key")
    summary = {k: record.get(k) for k in keys}
    summary["reused"] = bool(record.get("reused", False))
    return summary


def _mean_map(records: list[dict[str, Any]]) -> dict[str, Any]:
    from ltml_bench.report import _mean_std

    return {g: _mean_std([r["map"][g] for r in records])[0] for g in ("head", "middle", "tail", "all")}


def _print_run_table(records: list[dict[str, Any]]) -> None:
    from rich.table import Table

    first = records[0]
    sizes = {g: len(first["groups"][g]) for g in ("head", "middle", "tail")}
    table = Table(title=f"{first.get('method_title', first['method'])} on {first['dataset']}: mAP (%)")
    table.add_column("seed")
    for g in ("head", "middle", "tail"):
        table.add_column(f"{g} ({sizes[g]})", justify="right")
    table.add_column(f"all ({len(first['class_names'])})", justify="right")
    for r in records:
        table.add_row(str(r["seed"]), *(_fmt(r["map"][g]) for g in ("head", "middle", "tail", "all")))
    if len(records) > 1:
        mean = _mean_map(records)
        table.add_row("mean", *(_fmt(mean[g]) for g in ("head", "middle", "tail", "all")))
    out.print(table)
    missing = first.get("classes_without_test_positives") or []
    if missing:
        out.print(f"{len(missing)} class(es) without test positives (AP undefined, left out of the means): {', '.join(missing)}")
    out.print(f"groups: {first.get('group_rule_text', '')}")


@app.command()
def table(
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="only this dataset"),
    runs: Path = typer.Option(Path("runs"), "--runs", help="runs folder to read"),
    fmt: str = typer.Option("rich", "--format", "-f", help="rich, md, latex, csv or json"),
    write: bool = typer.Option(False, "--write", help="(re)write leaderboards/<dataset>.md"),
    leaderboards: Path = typer.Option(Path("leaderboards"), "--leaderboards", help="folder for --write"),
    reported: bool = typer.Option(True, "--reported/--no-reported", help="show published numbers beside ours"),
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """One row per method: n_seeds and head / middle / tail / all mAP (mean ± std), ranked by all."""
    _load_plugins(plugin)
    from ltml_bench import report

    if fmt not in ("rich", "md", "latex", "csv", "json"):
        raise UserError(f"--format {fmt!r}: choose rich, md, latex, csv or json")
    records, skipped = report.collect(runs, dataset)
    for item in skipped:
        err.print(f"skipped {item.path}: {item.reason}")
    frame = report.aggregate(records, reported=reported, dataset=dataset)
    if write:
        if not dataset:
            raise UserError("--write needs --dataset NAME (one leaderboard file per dataset)")
        from ltml_bench.data import atomic_write_bytes

        target = leaderboards / f"{dataset}.md"
        atomic_write_bytes(target, report.leaderboard_markdown(frame, dataset, str(runs), records).encode())
        err.print(f"wrote {target}")
    if fmt == "csv":
        sys.stdout.write(report.to_csv(frame))
    elif fmt == "json":
        sys.stdout.write(frame.to_json(orient="records") + "\n")
    elif fmt == "md":
        sys.stdout.write(report.to_markdown(frame, reported=reported))
    elif fmt == "latex":
        sys.stdout.write(report.to_latex(frame, reported=reported))
    else:
        if frame.empty:
            err.print(f"no finished runs under {runs}" + (f" for dataset {dataset}" if dataset else ""))
            return
        from rich.table import Table

        for name, part in frame.groupby("dataset", sort=True):
            header, rows = report.rows_for_display(part.reset_index(drop=True), reported=reported)
            t = Table(title=f"{name}: mAP (%), mean ± std over seeds")
            for column in header:
                t.add_column(column, justify="left" if column in ("method", "variant") else "right")
            for cells in rows:
                t.add_row(*cells)
            out.print(t)


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
    _load_plugins(plugin)
    from ltml_bench.config import parse_assignments
    from ltml_bench.evaluate import evaluate as api_evaluate

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
    _print_run_table([{**result, "seed": "-", "method_title": scores.name}])


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
    _load_plugins(plugin)
    from ltml_bench.plots import make_plots

    chosen = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    for path in make_plots(runs, out_dir, dataset, chosen, fmt, param, say=lambda line: err.print(line, markup=False)):
        out.print(str(path), markup=False)


@app.command()
def docs(
    out_dir: Path = typer.Option(Path("docs/methods"), "--out", help="folder for <method>.md pages and index.md"),
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """Write one markdown page per registered method (docstring, formula, defaults, sweep, paper, numbers)."""
    _load_plugins(plugin)
    from ltml_bench.docs import write_method_docs

    for path in write_method_docs(out_dir):
        out.print(str(path), markup=False)


from ltml_bench.cli_data import data_app  # noqa: E402  (`ltml-bench data check|pareto`)

app.add_typer(data_app, name="data")


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
    from ltml_bench.sweep import SweepSpec, counts_line, parse_grid, parse_list, run_sweep

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
                      f"head {_fmt(m['head'])} middle {_fmt(m['middle'])} tail {_fmt(m['tail'])} all {_fmt(m['all'])}", markup=False)
    if summary["failed"]:
        raise typer.Exit(1)


@app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="small sizes: well under a minute on 2 CPU cores"),
    device: str = typer.Option("auto", "--device", help="auto (default), cpu, cuda, cuda:N"),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads for every measurement (0: torch's default)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    out_dir: Optional[Path] = typer.Option(Path("benchmarks/results"), "--out", help="folder for the JSON record ('' to skip)"),
) -> None:
    """Speed of the harness, input pipeline and AP against plain PyTorch / torchvision / scikit-learn."""
    from ltml_bench.bench import record_path, run_bench, summary_lines
    from ltml_bench.results import write_json

    record = run_bench(quick=quick, device_name=device, threads=threads, log=lambda line: err.print(f"[dim]{line}[/]"))
    if out_dir is not None and str(out_dir) not in ("", "."):
        target = record_path(out_dir, record)
        write_json(target, record)
        err.print(f"wrote {target}")
    if as_json:
        sys.stdout.write(json.dumps(record) + "\n")
        return
    for line in summary_lines(record):
        out.print(line, markup=False)


@app.command("list")
def list_(
    fmt: str = typer.Option("rich", "--format", "-f", help="rich, md or json"),
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """Registered methods (with paper) and datasets, built-ins and plugins."""
    _load_plugins(plugin)
    from ltml_bench.registry import DATASETS, METHODS

    methods = [{"name": m.name, "title": m.title, "paper": m.paper, "summary": m.summary, "sampler": m.sampler or "shuffle", "origin": METHODS._origin[m.name]} for m in METHODS.all()]
    datasets = [{"name": d.name, "title": d.title, "summary": d.summary, "origin": DATASETS._origin[d.name]} for d in DATASETS.all()]
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


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: turns `UserError` into one line and exit status 2."""
    import click

    debug = os.environ.get("LTML_BENCH_DEBUG") == "1"
    warnings.formatwarning = lambda message, category, *args, **kwargs: f"warning: {message}\n"
    try:
        # without standalone mode, typer returns (not raises) the status of `typer.Exit(n)` and of Ctrl-C (130)
        code = app(args=argv, standalone_mode=False, prog_name="ltml-bench")
        if code == 130:
            raise KeyboardInterrupt
        if isinstance(code, int) and not isinstance(code, bool) and code != 0:
            sys.exit(code)
    except UserError as exc:
        if debug:
            raise
        err.print(f"ltml-bench: error: {exc}", markup=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err.print("ltml-bench: aborted")
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        if debug:
            raise
        err.print(f"ltml-bench: error: {exc.format_message()} (see `ltml-bench {' '.join(sys.argv[1:2])} --help`)", markup=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("ltml-bench: interrupted; finished epochs are checkpointed, continue with --resume")
        sys.exit(130)


if __name__ == "__main__":
    main()
