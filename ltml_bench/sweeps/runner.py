"""`ltml-bench sweep`: every combination of methods x datasets x grid values x seeds.

Each combination is one `ltml_bench.api.run`; a combination that already finished in `--out` is
counted and skipped (the same command run again trains nothing and says so). Launchers:

- `local` (default): in this process (`--jobs 1`) or in `--jobs N` spawned processes at once,
  each limited to max(1, cores // N) torch threads (`--threads T` sets T per run instead); on a GPU machine the N jobs share the GPU
  (several small runs per GPU), and with several GPUs they take them round-robin;
- `slurm`: one job per combination through submitit's `AutoExecutor` (a job array), with
  `--partition`, `--time` (minutes), `--gpus-per-node`, `--cpus-per-task`, `--slurm-folder`;
- `submitit-local`: submitit's `LocalExecutor` (the same code path as `slurm` on one machine, at
  most `--jobs` at a time), for testing.

With `--select-on val`, grid values are chosen per (method, dataset) on a validation split carved
from the long-tailed training set (`ltml_bench.data.validation`; never the test set): every grid point
is trained for every seed on the training set less the validation images and scored by validation
mAP (all classes, mean over seeds); the best point (first in grid order on a tie) is then trained
on the full training set for every seed and evaluated on the test set. Its record carries a
`selection` key: the candidates with their validation mAP, the chosen values and how they were
chosen. Without `--select-on`, every grid point is its own test-set run (a variant in the tables).
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ltml_bench.errors import UserError

LAUNCHERS = ("local", "slurm", "submitit-local")


@dataclass
class SweepSpec:
    methods: list[str]
    datasets: list[str]
    seeds: list[int]
    grid: dict[str, list[str]] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    epochs: int | None = None
    device: str | None = None
    out: str = "runs"
    jobs: int = 1
    launcher: str = "local"
    select_on: str | None = None
    plugins: list[str] = field(default_factory=list)
    partition: str | None = None
    time_min: int = 60
    gpus_per_node: int = 0
    cpus_per_task: int | None = None
    slurm_folder: str = "slurm_logs"
    threads: int = 0  # torch threads per run; 0 = automatic (see _threads_per_job)


def parse_list(text: str, what: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise UserError(f"--{what} {text!r}: give a comma-separated list")
    return items


def expand_methods(methods: list[str]) -> list[str]:
    """Registered method names; `["all"]` means every one (built-ins and plugins, sorted)."""
    from ltml_bench.registry import METHODS, get_method

    if methods == ["all"]:
        return list(METHODS.names())
    if "all" in methods:
        raise UserError("--methods all: give 'all' alone, or list the methods")
    return [get_method(m).name for m in methods]


def parse_grid(items: list[str]) -> dict[str, list[str]]:
    """['lr=0.01,0.02', 'lr_steps=5,7;6,8'] -> {'lr': ['0.01', '0.02'], 'lr_steps': ['5,7', '6,8']}.

    Values are split on ';' when the list holds one (for values that are themselves lists), else on ','.
    """
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key or not values.strip():
            raise UserError(f"--grid {item!r}: expected KEY=V1,V2,... e.g. --grid lr=0.01,0.02")
        parts = [v.strip() for v in values.split(";" if ";" in values else ",") if v.strip()]
        if key in grid:
            raise UserError(f"--grid {key}: given twice")
        grid[key] = parts
    return grid


def grid_points(grid: dict[str, list[str]]) -> list[dict[str, str]]:
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))] or [{}]


def job_device(device: str | None, slot: int | None, gpu_count: int) -> str | None:
    """The device of local job number `slot`: with several GPUs and an automatic (or bare "cuda")
    device, jobs go round-robin over them (cuda:0, cuda:1, ...); an explicit device is kept."""
    if slot is None or gpu_count < 2 or device not in (None, "auto", "cuda"):
        return device
    return f"cuda:{slot % gpu_count}"


def execute(job: dict[str, Any]) -> dict[str, Any]:
    """Run one combination (in this process, a spawned worker or a submitit job); a small summary."""
    threads = int(job.get("threads") or 0)
    if threads > 0:
        import torch

        torch.set_num_threads(threads)
    if job.get("gpu_slot") is not None:
        import torch

        job = {**job, "device": job_device(job["device"], job["gpu_slot"], torch.cuda.device_count() if torch.cuda.is_available() else 0)}
    summary = {k: job[k] for k in ("method", "dataset", "seed", "grid", "eval_split")}
    try:
        if job.get("plugins"):
            from ltml_bench.registry import load_plugin_file

            for path in job["plugins"]:
                load_plugin_file(Path(path))
        from ltml_bench.api import run

        record = run(job["method"], job["dataset"], job["seed"], settings=job["settings"], epochs=job["epochs"],
                     device=job["device"], out=job["out"], eval_split=job["eval_split"], wait=True)
    except Exception as exc:  # one failed combination must not stop the others
        summary["error"] = f"{type(exc).__name__}: {exc}"
        return summary
    summary.update(map=record["map"], variant=record.get("variant"), config_key=record.get("config_key"),
                   reused=bool(record.get("reused", False)), train_seconds=record.get("train_seconds"))
    return summary


def _make_job(spec: SweepSpec, method: str, dataset: str, seed: int, point: dict[str, str], eval_split: str, threads: int) -> dict[str, Any]:
    settings = dict(spec.settings)
    settings.update(point)
    return {"method": method, "dataset": dataset, "seed": int(seed), "grid": dict(point), "settings": settings,
            "epochs": spec.epochs, "device": spec.device, "out": str(spec.out), "eval_split": eval_split,
            "plugins": list(spec.plugins), "threads": threads}


def _threads_per_job(spec: SweepSpec) -> int:
    if spec.threads > 0:  # explicit: CPU results repeat bit for bit only with the same thread count
        return spec.threads
    if spec.launcher == "slurm":
        return int(spec.cpus_per_task or 0)
    if spec.jobs <= 1:
        return 0  # in this process: leave torch's setting alone
    return max(1, (os.cpu_count() or 1) // spec.jobs)


def _launch(spec: SweepSpec, jobs: list[dict[str, Any]], log: Callable[[str], None]) -> list[dict[str, Any]]:
    if not jobs:
        return []
    results: list[dict[str, Any]] = []

    def done(summary: dict[str, Any]) -> None:
        results.append(summary)
        name = f"{summary['method']} on {summary['dataset']} seed {summary['seed']}" + (f" {summary['grid']}" if summary["grid"] else "")
        if "error" in summary:
            log(f"failed: {name}: {summary['error']}")
        else:
            value = summary["map"].get("all")
            log(f"finished: {name} ({summary['eval_split']} mAP {'-' if value is None else f'{value:.2f}'})")

    if spec.launcher == "local" and spec.jobs <= 1:
        for job in jobs:
            done(execute(job))
    elif spec.launcher == "local":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=spec.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            # several jobs share a GPU; with several GPUs they take them in turn (job_device)
            futures = [pool.submit(execute, {**job, "gpu_slot": i}) for i, job in enumerate(jobs)]
            for future in as_completed(futures):
                done(future.result())
    else:
        _launch_submitit(spec, jobs, done)
    return results


def _launch_submitit(spec: SweepSpec, jobs: list[dict[str, Any]], done: Callable[[dict[str, Any]], None]) -> None:
    try:
        import submitit
    except ImportError as exc:  # pragma: no cover - submitit is a dependency
        raise UserError(f"--launcher {spec.launcher}: submitit is not installed (pip install submitit)") from exc
    folder = Path(spec.slurm_folder) / "%j"
    if spec.launcher == "slurm":
        try:
            executor: Any = submitit.AutoExecutor(folder=folder, cluster="slurm")
        except RuntimeError as exc:  # no srun/sbatch here
            raise UserError(f"--launcher slurm: {exc} (run from a SLURM login node, or test with --launcher submitit-local)") from exc
        params: dict[str, Any] = {"timeout_min": spec.time_min, "gpus_per_node": spec.gpus_per_node, "name": "ltml-bench",
                                  "tasks_per_node": 1, "nodes": 1}
        if spec.cpus_per_task:
            params["cpus_per_task"] = spec.cpus_per_task
        if spec.partition:
            params["slurm_partition"] = spec.partition
        executor.update_parameters(**params)
        with executor.batch():  # one job array
            handles = [executor.submit(execute, job) for job in jobs]
        for job, handle in zip(jobs, handles):
            done(_result(job, handle))
        return
    executor = submitit.LocalExecutor(folder=folder)
    executor.update_parameters(timeout_min=spec.time_min, gpus_per_node=spec.gpus_per_node)
    width = max(1, spec.jobs)
    for start in range(0, len(jobs), width):  # at most --jobs local processes at once
        wave = jobs[start : start + width]
        handles = [executor.submit(execute, job) for job in wave]
        for job, handle in zip(wave, handles):
            done(_result(job, handle))


def _result(job: dict[str, Any], handle: Any) -> dict[str, Any]:
    try:
        return handle.result()
    except Exception as exc:  # the job itself failed (killed, timed out, ...)
        lines = str(exc).strip().splitlines()
        summary = {k: job[k] for k in ("method", "dataset", "seed", "grid", "eval_split")}
        summary["error"] = f"submitit job {getattr(handle, 'job_id', '?')}: {type(exc).__name__}: {lines[-1] if lines else ''}"
        return summary


def _phase(spec: SweepSpec, combos: list[tuple[str, str, int, dict[str, str]]], eval_split: str, threads: int,
           log: Callable[[str], None]) -> dict[str, Any]:
    """Run the combinations not yet finished; counts and summaries of all of them."""
    from ltml_bench.api import finished_record

    finished: list[dict[str, Any]] = []
    todo: list[dict[str, Any]] = []
    for method, dataset, seed, point in combos:
        job = _make_job(spec, method, dataset, seed, point, eval_split, threads)
        stored = finished_record(method, dataset, seed, settings=job["settings"], epochs=spec.epochs, device=spec.device,
                                 out=spec.out, eval_split=eval_split)
        if stored is not None:
            finished.append({"method": method, "dataset": dataset, "seed": int(seed), "grid": dict(point), "eval_split": eval_split,
                             "map": stored["map"], "variant": stored.get("variant"), "config_key": stored.get("config_key"),
                             "reused": True, "train_seconds": stored.get("train_seconds")})
        else:
            todo.append(job)
    ran = _launch(spec, todo, log)
    failed = [r for r in ran if "error" in r]
    trained = [r for r in ran if "error" not in r and not r.get("reused")]
    reused_late = [r for r in ran if "error" not in r and r.get("reused")]  # finished meanwhile by someone else
    return {"runs": len(combos), "already_finished": len(finished) + len(reused_late), "trained": len(trained),
            "failed": len(failed), "results": finished + [r for r in ran if "error" not in r], "errors": failed}


def counts_line(phase: dict[str, Any], label: str = "") -> str:
    text = f"{label}{phase['runs']} run{'' if phase['runs'] == 1 else 's'}, {phase['already_finished']} already finished, {phase['trained']} trained"
    if phase["failed"]:
        text += f", {phase['failed']} failed"
    if phase["trained"] == 0 and phase["failed"] == 0:
        text += " (nothing to train: every run had already finished)"
    return text


def _select(spec: SweepSpec, phase: dict[str, Any], points: list[dict[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (method, dataset): the grid point with the best mean validation mAP (all) over seeds."""
    chosen: dict[tuple[str, str], dict[str, Any]] = {}
    for method in spec.methods:
        for dataset in spec.datasets:
            candidates = []
            for point in points:
                values = [r["map"]["all"] for r in phase["results"]
                          if r["method"] == method and r["dataset"] == dataset and r["grid"] == point and r["map"].get("all") is not None]
                mean = sum(values) / len(values) if values else None
                candidates.append({"values": point, "val_map_all": mean, "seeds": len(values)})
            scored = [c for c in candidates if c["val_map_all"] is not None]
            if not scored:
                continue
            best = max(scored, key=lambda c: c["val_map_all"])  # max keeps the first of equal values
            from ltml_bench.data.validation import VAL_FRACTION, VAL_SEED

            chosen[(method, dataset)] = {
                "on": "val",
                "how": (f"grid search; each point trained per seed on the training set less a validation split "
                        f"({VAL_FRACTION:.0%} of the training images, carved with seed {VAL_SEED}, rarest class first); "
                        f"chosen by the mean over seeds of validation mAP (all classes); the test set was not used"),
                "metric": "val_map_all",
                "seeds": list(spec.seeds),
                "validation_split": {"fraction": VAL_FRACTION, "seed": VAL_SEED},
                "candidates": candidates,
                "chosen": best["values"],
            }
    return chosen


def run_sweep(spec: SweepSpec, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    from ltml_bench.registry import get_dataset, load_plugin_file

    if spec.launcher not in LAUNCHERS:
        raise UserError(f"--launcher {spec.launcher!r}: choose {', '.join(LAUNCHERS)}")
    if spec.jobs < 1:
        raise UserError(f"--jobs {spec.jobs}: must be >= 1")
    if spec.select_on not in (None, "val"):
        raise UserError(f"--select-on {spec.select_on!r}: only 'val' (a validation split of the training set) is supported")
    for path in spec.plugins:
        load_plugin_file(Path(path))
    spec.methods = expand_methods(spec.methods)
    spec.datasets = [get_dataset(d).name for d in spec.datasets]
    overlap = set(spec.grid) & set(spec.settings)
    if overlap:
        raise UserError(f"--grid and --set both give {', '.join(sorted(overlap))}; keep one")
    points = grid_points(spec.grid)
    threads = _threads_per_job(spec)
    summary: dict[str, Any] = {"launcher": spec.launcher, "jobs": spec.jobs, "threads_per_job": threads, "out": str(spec.out)}
    if spec.select_on == "val" and spec.grid:
        combos = [(m, d, s, p) for m in spec.methods for d in spec.datasets for p in points for s in spec.seeds]
        selection_phase = _phase(spec, combos, "val", threads, log)
        log(counts_line(selection_phase, "selection on validation: "))
        chosen = _select(spec, selection_phase, points)
        final_combos = [(m, d, s, chosen[(m, d)]["chosen"]) for m in spec.methods for d in spec.datasets if (m, d) in chosen for s in spec.seeds]
        final = _phase(spec, final_combos, "test", threads, log)
        _annotate(spec, final, chosen)
        summary["selection_phase"] = selection_phase
        summary["selection"] = [dict(method=m, dataset=d, **sel) for (m, d), sel in chosen.items()]
    else:
        final = _phase(spec, [(m, d, s, p) for m in spec.methods for d in spec.datasets for p in points for s in spec.seeds], "test", threads, log)
    summary.update({k: final[k] for k in ("runs", "already_finished", "trained", "failed", "results", "errors")})
    return summary


def _annotate(spec: SweepSpec, phase: dict[str, Any], chosen: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Write the `selection` key into each final run's result.json (atomically)."""
    from ltml_bench.runs.records import RESULT_FILE, run_folder
    from ltml_bench.storage.files import write_json

    for result in phase["results"]:
        selection = chosen.get((result["method"], result["dataset"]))
        if selection is None or not result.get("config_key"):
            continue
        path = run_folder(Path(spec.out), result["dataset"], result["method"], result["seed"], result["config_key"]) / RESULT_FILE
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if record.get("selection") != selection:
            record["selection"] = selection
            write_json(path, record)
        result["selection"] = selection["chosen"]
