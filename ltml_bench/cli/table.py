"""`ltml-bench table`: finished runs as a leaderboard (rich, md, latex, csv, json); `--write` updates leaderboards/."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ltml_bench.cli.common import LevelOption, PluginOption, ResamplesOption, app, bootstrap_settings, err, load_plugins, out
from ltml_bench.errors import UserError


@app.command()
def table(
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="only this dataset"),
    runs: Path = typer.Option(Path("runs"), "--runs", help="runs folder to read"),
    fmt: str = typer.Option("rich", "--format", "-f", help="rich, md, latex, csv or json"),
    write: bool = typer.Option(False, "--write", help="(re)write leaderboards/<dataset>.md"),
    leaderboards: Path = typer.Option(Path("leaderboards"), "--leaderboards", help="folder for --write"),
    reported: bool = typer.Option(True, "--reported/--no-reported", help="show published numbers beside ours"),
    intervals: bool = typer.Option(True, "--intervals/--no-intervals",
                                   help="bootstrap intervals, tie marks and reproduced? from the runs' scores.npz"),
    resamples: int = ResamplesOption,
    level: float = LevelOption,
    alpha: float = typer.Option(0.05, "--alpha", help="significance level of the tie marks (Holm-adjusted)"),
    group_intervals: bool = typer.Option(False, "--group-intervals", help="show the interval of head, middle and tail too (md, rich, latex)"),
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """One row per method: n_seeds and head / middle / tail / all mAP (mean ± std), ranked by all;
    the interval of all, tie marks and reproduced? (docs/protocol.md section 7, "Uncertainty and significance")."""
    load_plugins(plugin)
    from ltml_bench.reporting import tables as report

    if fmt not in ("rich", "md", "latex", "csv", "json"):
        raise UserError(f"--format {fmt!r}: choose rich, md, latex, csv or json")
    if not 0.0 < alpha < 1.0:
        raise UserError(f"--alpha {alpha}: must be between 0 and 1, e.g. 0.05")
    loaded, skipped = report.collect_loaded(runs, dataset)
    records = [item.record for item in loaded]
    for item in skipped:
        err.print(f"skipped {item.path}: {item.reason}")
    frame = report.aggregate(records, reported=reported, dataset=dataset)
    if intervals and records:
        from ltml_bench.reporting.marks import annotate

        with err.status(f"bootstrap intervals and tests ({resamples} resamples) over {len(records)} runs"):
            frame = annotate(frame, loaded, bootstrap_settings(resamples, level), alpha, say=lambda line: err.print(line, markup=False))
        frame.attrs["group_intervals"] = group_intervals
    if write:
        if not dataset:
            raise UserError("--write needs --dataset NAME (one leaderboard file per dataset)")
        from ltml_bench.storage.files import atomic_write_bytes

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
            t = Table(title=f"{name}: mAP (%), mean ± std over seeds" + (f"; {100 * level:g}% bootstrap interval of all (seeds, then images)" if intervals else ""))
            for column in header:
                t.add_column(column, justify="left" if column in ("method", "variant") else "right")
            for cells in rows:
                t.add_row(*cells)
            out.print(t)
