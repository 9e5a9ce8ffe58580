"""`ltml-bench bench`: speed ratios measured side by side in one process."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from ltml_bench.cli.common import app, err, out


@app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="small sizes: well under a minute on 2 CPU cores"),
    full: bool = typer.Option(False, "--full", help="also the largest AP size (100,000 x 80)"),
    device: str = typer.Option("auto", "--device", help="auto (default), cpu, cuda, cuda:N"),
    threads: int = typer.Option(0, "--threads", help="torch CPU threads for every measurement (0: torch's default)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    out_dir: Optional[Path] = typer.Option(Path("benchmarks/results"), "--out", help="folder for the JSON record ('' to skip)"),
) -> None:
    """Speed of the harness, input pipeline and AP against plain PyTorch / torchvision / scikit-learn."""
    from ltml_bench.bench.suite import record_path, run_bench, summary_lines
    from ltml_bench.storage.files import write_json

    record = run_bench(quick=quick, full=full, device_name=device, threads=threads, log=lambda line: err.print(f"[dim]{line}[/]"))
    if out_dir is not None and str(out_dir) not in ("", "."):
        target = record_path(out_dir, record)
        write_json(target, record)
        err.print(f"wrote {target}")
    if as_json:
        sys.stdout.write(json.dumps(record) + "\n")
        return
    for line in summary_lines(record):
        out.print(line, markup=False)
