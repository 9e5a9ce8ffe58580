"""`ltml-bench data ...`: prepare and verify the file-backed datasets.

    ltml-bench data check voc_lt --data-root DIR [--set split_file=IDS.txt] [--json]
    ltml-bench data pareto --labels LABELS.csv --alpha 6 --max 800 --seed 0 --out IDS.txt [--json]

`check` builds the dataset exactly as a run would, decodes every image, and reports per-class
training counts and head / middle / tail sizes; with the published split it compares them with
the published figures and exits with status 1 when anything differs (bad input: status 2).
`pareto` draws a long-tailed subset from any label table `--dataset csv` reads (`image_id,labels`,
ChestX-ray14's `Image Index,Finding Labels` with `--label-sep '|'`, ...) with the Pareto builder and
writes the ids, one per line. Heavy imports stay inside the commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from ltml_bench.cli.common import PluginOption, command_group, load_plugins
from ltml_bench.errors import DataError, UserError

data_app = command_group("Prepare and verify datasets (check a prepared VOC/COCO tree, build a Pareto subset).")


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def dataset_options(name: str, data_root: Optional[Path], assignments: list[str]) -> tuple[Any, dict[str, Any]]:
    """(spec, options) of dataset `name` with `--data-root` and `--set` applied and validated."""
    from ltml_bench.config import parse_assignments, parse_value, unknown_key_error
    from ltml_bench.registry import get_dataset

    spec = get_dataset(name)
    options = dict(spec.options)
    settings = parse_assignments(assignments)
    if data_root is not None:
        if "data_root" not in options:
            raise UserError(f"--data-root: dataset {name!r} reads no data root (its options: {', '.join(sorted(options)) or 'none'})")
        settings.setdefault("data_root", str(data_root))
    for key, raw in settings.items():
        if key not in options:
            raise unknown_key_error(key, sorted(options), f"dataset {name!r}")
        options[key] = parse_value(key, raw, options[key]) if isinstance(raw, str) else raw
    return spec, options


def _class_freq_beside(info: dict[str, Any], dataset: str) -> Optional[Path]:
    """The published class_freq.pkl beside a published split file, if there is one."""
    from ltml_bench.data.splits import is_published_file

    split_file = info.get("split_file")
    if not split_file or not info.get("published"):
        return None
    candidate = Path(split_file).parent / "class_freq.pkl"
    return candidate if is_published_file(candidate, dataset, "class_freq.pkl") else None


def _compare_class_freq(report: dict[str, Any], bundle: Any, path: Path) -> None:
    from ltml_bench.data.splits import read_class_freq

    freq = read_class_freq(path, bundle.num_classes)
    gt = freq["gt_labels"]
    report["class_freq_file"] = str(path)
    report["published_counts"] = [int(v) for v in freq["class_freq"]]
    if gt.shape[0] != len(bundle.train):
        report["problems"].append(f"{path}: {gt.shape[0]} label rows, the training split has {len(bundle.train)} images")
    else:
        differ = [i for i in range(gt.shape[0]) if not (gt[i] == bundle.train.labels[i]).all()]
        if differ:
            i = differ[0]
            ours = [bundle.class_names[k] for k in range(bundle.num_classes) if bundle.train.labels[i, k]]
            theirs = [bundle.class_names[k] for k in range(bundle.num_classes) if gt[i, k]]
            report["problems"].append(
                f"{len(differ)} training image(s) labelled differently from {path.name}, first {bundle.train.ids[i]}: "
                f"ours {ours}, published {theirs}"
            )
    report["ok"] = not report["problems"]


@data_app.command("check")
def check(
    dataset: str = typer.Argument(..., help="dataset key: voc_lt, coco_lt (or csv)"),
    data_root: Optional[Path] = typer.Option(None, "--data-root", help="folder holding the dataset (default: $LTML_BENCH_DATA, else ./data)"),
    set_: list[str] = typer.Option([], "--set", help="KEY=VALUE dataset option, e.g. split_file=IDS.txt (repeatable)"),
    class_freq: Optional[Path] = typer.Option(None, "--class-freq", help="a class_freq.pkl to compare the training labels with, row by row"),
    images: bool = typer.Option(True, "--images/--no-images", help="decode every image (default) or only check that the files exist"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    plugin: Optional[list[Path]] = PluginOption,
) -> None:
    """Verify a prepared dataset: images, split ids, per-class counts, groups (published figures compared)."""
    import importlib

    load_plugins(plugin)

    from ltml_bench.data.realdata import check_bundle

    spec, options = dataset_options(dataset, data_root, set_)
    err = _console(stderr=True)
    from ltml_bench.data.interface import build_bundle

    bundle = build_bundle(spec, options)
    expected = getattr(importlib.import_module(spec.build.__module__), "EXPECTED", None)
    with err.status("checking images...", spinner="dots") if (images and err.is_terminal) else _null():
        report = check_bundle(bundle, expected, verify_images=images)
    freq_path = class_freq or _class_freq_beside(bundle.info, spec.name)
    if freq_path is not None:
        _compare_class_freq(report, bundle, Path(freq_path))
    if as_json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        _print_check(report)
    if not report["ok"]:
        raise CheckFailed(f"data check {spec.name}: {len(report['problems'])} problem(s): {report['problems'][0]}")


class CheckFailed(UserError):
    """A dataset that builds but differs from what it should be: exit status 1."""

    exit_code = 1


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *args: Any) -> None:
        return None


def _print_check(report: dict[str, Any]) -> None:
    from rich.table import Table

    out = _console()
    fig = report["figures"]
    rule = report["group_rule"]
    counts = report["train_counts"]
    published = report.get("published_counts")
    table = Table(title=f"{report['dataset']}: training images per class")
    for column in ("class", "train", "group", "test positives") + (("published",) if published else ()):
        table.add_column(column, justify="left" if column in ("class", "group") else "right")
    for k, name in enumerate(report["class_names"]):
        n = counts[k]
        group = "head" if n >= rule["head_min"] else ("middle" if n >= rule["tail_below"] else "tail")
        row = [name, str(n), group, str(report["test_counts"][k])]
        if published:
            row.append(str(published[k]) + ("" if published[k] == n else "  (differs)"))
        table.add_row(*row)
    out.print(table)
    info = report["info"]
    source = info.get("split_file") or (f"pareto, seed {info.get('split_seed')}" if info.get("split") == "pareto" else info.get("labels", ""))
    out.print(f"split: {info.get('split', '-')} ({source})")
    out.print(
        f"training images {fig['train_images']:,}, max {fig['max_count']:,}, min {fig['min_count']:,}, "
        f"groups head/middle/tail {'/'.join(str(g) for g in fig['groups'])} "
        f"(head n>={rule['head_min']}, middle {rule['tail_below']}<=n<{rule['head_min']}, tail n<{rule['tail_below']}); "
        f"test images {fig['test_images']:,}; images decoded {report['images_checked']:,}"
    )
    if report["compared_with_published"]:
        exp = report["expected"]
        out.print(
            f"published: {exp['train_images']:,} images, max {exp['max_count']:,}, min {exp['min_count']:,}, "
            f"groups {'/'.join(str(g) for g in exp['groups'])}, test {exp['test_images']:,}"
        )
    for note in report["notes"]:
        out.print(f"note: {note}")
    for problem in report["problems"]:
        out.print(f"DIFFERS: {problem}")
    if report["ok"]:
        out.print("OK: matches the published split" if report["compared_with_published"] else "OK")
    else:
        out.print(f"FAILED: {len(report['problems'])} problem(s)")


@data_app.command("pareto")
def pareto(
    labels: Path = typer.Option(..., "--labels", help="label CSV with a header, as --dataset csv reads it (e.g. image_id,labels)"),
    out_file: Path = typer.Option(..., "--out", help="where to write the selected ids, one per line"),
    alpha: float = typer.Option(6.0, "--alpha", help="Pareto shape (6 for VOC-LT / COCO-LT)"),
    max_count: int = typer.Option(800, "--max", help="reference count of the first class (800 VOC, 1200 COCO)"),
    min_count: int = typer.Option(1, "--min", help="reference count floor"),
    seed: int = typer.Option(0, "--seed", help="random seed"),
    stream: str = typer.Option("python", "--stream", help="python (the DB tool's random stream; VOC seed 0 = the published list) or numpy"),
    label_sep: str = typer.Option(" ", "--label-sep", help="separator inside the labels field ('|' for ChestX-ray14)"),
    image_column: str = typer.Option("", "--image-column", help="image column name (default: auto-detected, as --dataset csv)"),
    label_column: str = typer.Option("", "--label-column", help="label column name (default: auto-detected)"),
    no_label: str = typer.Option("No Finding", "--no-label", help="a label value meaning 'no class'"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
) -> None:
    """Draw a long-tailed subset of any labelled pool (the Pareto builder of Wu et al. 2020)."""
    import numpy as np

    from ltml_bench.data.pareto import pareto_subset
    from ltml_bench.data.splits import group_sizes, read_label_csv
    from ltml_bench.storage.files import atomic_write_bytes

    if stream not in ("python", "numpy"):
        raise UserError(f"--stream {stream!r}: choose python or numpy")
    if alpha <= 0 or max_count < min_count or min_count < 0:
        raise UserError(f"--alpha {alpha} --max {max_count} --min {min_count}: need alpha > 0 and 0 <= min <= max")
    if out_file.exists() and out_file.is_dir():
        raise UserError(f"--out {out_file}: is a folder; give a file path")
    ids, classes, y = read_label_csv(labels, sep=label_sep, image_column=image_column, label_column=label_column, no_label=no_label)
    if not y.any():
        raise DataError(f"label file {labels}: no row carries a label; check the labels column")
    subset = pareto_subset(y, alpha=alpha, max_count=max_count, min_count=min_count, seed=seed, stream=stream)
    chosen = [ids[i] for i in subset.selection_order]
    try:
        atomic_write_bytes(out_file, "".join(f"{i}\n" for i in chosen).encode())
    except OSError as exc:
        raise UserError(f"--out {out_file}: cannot write there ({exc.strerror}); choose a writable path") from None
    counts = subset.counts.astype(int)
    pool_counts = y.sum(axis=0).astype(int)
    rank = np.empty(len(classes), dtype=int)
    rank[subset.order] = np.arange(len(classes))
    sizes = group_sizes(counts)
    payload = {
        "labels": str(labels), "out": str(out_file), "images": len(chosen), "pool_images": len(ids),
        "alpha": alpha, "max": max_count, "min": min_count, "seed": seed, "stream": stream,
        "classes": classes, "rank": rank.tolist(), "reference": subset.reference.astype(int).tolist(),
        "counts": counts.tolist(), "pool_counts": pool_counts.tolist(),
        "groups": {"head": sizes[0], "middle": sizes[1], "tail": sizes[2]},
        "max_abs_deviation": int(np.abs(counts - subset.reference).max()),
    }
    if as_json:
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    _print_pareto(payload, subset.order)


def _print_pareto(payload: dict[str, Any], order: Any) -> None:
    """The rich table of `data pareto`: one row per class in visiting order."""
    from rich.table import Table

    counts, rank, reference, pool_counts, classes = (payload[k] for k in ("counts", "rank", "reference", "pool_counts", "classes"))
    sizes = payload["groups"]
    title = (f"Pareto subset of {Path(payload['labels']).name}: alpha {payload['alpha']:g}, max {payload['max']}, "
             f"min {payload['min']}, seed {payload['seed']} ({payload['stream']} stream)")
    table = Table(title=title)
    for column in ("rank", "class", "pool", "reference", "obtained", "group"):
        table.add_column(column, justify="left" if column in ("class", "group") else "right")
    for k in order:
        n = int(counts[k])
        group = "head" if n >= 100 else ("middle" if n >= 20 else "tail")
        table.add_row(str(rank[k] + 1), classes[k], str(pool_counts[k]), str(int(reference[k])), str(n), group)
    out = _console()
    out.print(table)
    out.print(
        f"{payload['images']:,} of {payload['pool_images']:,} images; groups head/middle/tail "
        f"{sizes['head']}/{sizes['middle']}/{sizes['tail']} (head n>=100, middle 20<=n<100, tail n<20); ids written to {payload['out']}"
    )
