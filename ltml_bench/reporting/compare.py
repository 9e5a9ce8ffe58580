"""`ltml-bench compare`: the paired difference of two methods' group mAP, and one method against all.

A method is named by its key (`hmt`), optionally with a variant (`hmt@lam=1.0`; without one the
`default` variant, or the only variant run). Runs are read from a runs folder, one per seed; both
methods are evaluated on the same bootstrap resamples of the test images, and seeds both ran are
paired (`metrics.significance.paired_difference`). `compare_all_vs` compares every other method
(and variant) of the dataset's track with one, Holm-adjusting each group's p-values over the
comparisons.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ltml_bench.errors import UserError
from ltml_bench.metrics.intervals import INTERVAL_GROUPS, BootstrapSettings
from ltml_bench.metrics.significance import holm, paired_difference
from ltml_bench.reporting.uncertainty import MethodSamples, Resampler, method_samples
from ltml_bench.runs.records import LoadedRecord


def _label(method: str, variant: str) -> str:
    return method if variant == "default" else f"{method}@{variant}"


def runs_by_row(loaded: list[LoadedRecord], dataset: str, protocol: str) -> dict[tuple[str, str], list[LoadedRecord]]:
    """(method, variant) -> its records on `dataset`'s `protocol` track."""
    from ltml_bench.reporting.tables import protocol_of

    rows: dict[tuple[str, str], list[LoadedRecord]] = {}
    for item in loaded:
        r = item.record
        if r.get("dataset") == dataset and protocol_of(r) == protocol:
            rows.setdefault((str(r["method"]), str(r.get("variant", "default"))), []).append(item)
    return rows


def resolve(name: str, rows: dict[tuple[str, str], list[LoadedRecord]], dataset: str) -> tuple[str, str]:
    """`method` or `method@variant` -> the (method, variant) row it names, or a one-line error."""
    method, _, variant = name.partition("@")
    variants = sorted(v for m, v in rows if m == method)
    if not variants:
        found = sorted({m for m, _ in rows})
        raise UserError(f"no finished runs of {method!r} on {dataset!r}; found: {', '.join(found) or 'none'}")
    if variant:
        if variant not in variants:
            raise UserError(f"{method!r} on {dataset!r} has no variant {variant!r}; found: {', '.join(variants)}")
        return method, variant
    if "default" in variants or len(variants) == 1:
        return method, "default" if "default" in variants else variants[0]
    raise UserError(f"{method!r} on {dataset!r} has several variants; name one as {method}@VARIANT: {', '.join(variants)}")


def difference_table(a: MethodSamples, b: MethodSamples, level: float) -> dict[str, dict[str, Any]]:
    """Per group: the paired difference A - B, its interval, p-value and the parts of its variance."""
    out: dict[str, dict[str, Any]] = {}
    for group in INTERVAL_GROUPS:
        d = paired_difference(a.points(group), b.points(group), a.resampled(group), b.resampled(group), level)
        entry = d.as_dict()
        out[group] = {"difference": entry.pop("estimate"), **entry}
    return out


def _load(runs: str | Path, dataset: str) -> list[LoadedRecord]:
    from ltml_bench.reporting.tables import collect_loaded

    loaded, _ = collect_loaded(runs, dataset)
    if not loaded:
        raise UserError(f"no finished runs of dataset {dataset!r} under {str(runs)!r}")
    return loaded


def _header(dataset: str, protocol: str, settings: BootstrapSettings) -> dict[str, Any]:
    return {"dataset": dataset, "protocol": protocol, "level": settings.level, "resamples": settings.resamples,
            "bootstrap_seed": settings.seed, "units": "mAP percentage points (A - B)"}


def compare(a: str, b: str, dataset: str, runs: str | Path = "runs", settings: BootstrapSettings = BootstrapSettings(),
            protocol: str = "finetune") -> dict[str, Any]:
    """A against B on `dataset`: {"a", "b", "seeds_a", "seeds_b", "groups": {group: {difference,
    low, high, p_value, ...}}, ...}. Differences are A - B in percentage points."""
    rows = runs_by_row(_load(runs, dataset), dataset, protocol)
    row_a, row_b = resolve(a, rows, dataset), resolve(b, rows, dataset)
    if row_a == row_b:
        raise UserError(f"compare: {a!r} and {b!r} name the same runs; give two different methods or variants")
    resampler = Resampler(settings)
    samples_a, samples_b = method_samples(resampler, rows[row_a]), method_samples(resampler, rows[row_b])
    result = _header(dataset, protocol, settings)
    result.update({"a": _label(*row_a), "b": _label(*row_b), "seeds_a": [r.seed for r in samples_a.runs],
                   "seeds_b": [r.seed for r in samples_b.runs], "groups": difference_table(samples_a, samples_b, settings.level)})
    return result


def compare_all_vs(reference: str, dataset: str, runs: str | Path = "runs", settings: BootstrapSettings = BootstrapSettings(),
                   protocol: str = "finetune") -> dict[str, Any]:
    """Every other (method, variant) of the track against `reference`: differences are OTHER -
    REFERENCE; each group's p-values are Holm-adjusted over the comparisons (`p_holm`)."""
    rows = runs_by_row(_load(runs, dataset), dataset, protocol)
    ref = resolve(reference, rows, dataset)
    resampler = Resampler(settings)
    ref_samples = method_samples(resampler, rows[ref])
    comparisons = []
    for row in sorted(r for r in rows if r != ref):
        other = method_samples(resampler, rows[row])
        comparisons.append({"method": _label(*row), "seeds": [r.seed for r in other.runs],
                            "groups": difference_table(other, ref_samples, settings.level)})
    for group in INTERVAL_GROUPS:
        adjusted = holm([c["groups"][group]["p_value"] for c in comparisons])
        for c, p in zip(comparisons, adjusted):
            c["groups"][group]["p_holm"] = p
    result = _header(dataset, protocol, settings)
    result.update({"reference": _label(*ref), "seeds_reference": [r.seed for r in ref_samples.runs], "comparisons": comparisons,
                   "correction": "Holm, per group, over the comparisons"})
    return result


def strict_json(value: Any) -> Any:
    """`value` with every non-finite float as None (JSON has no NaN or infinity)."""
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strict_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


CSV_FIELDS = ("a", "b", "group", "difference", "low", "high", "p_value", "p_holm", "se", "se_seeds", "se_images", "df",
              "seeds", "n_a", "n_b")


def flat_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (comparison, group) with the fields of `CSV_FIELDS` (for md and csv output)."""
    pairs = ([(result["a"], result["b"], result["groups"])] if "groups" in result
             else [(c["method"], result["reference"], c["groups"]) for c in result["comparisons"]])
    rows = []
    for a, b, groups in pairs:
        for group in INTERVAL_GROUPS:
            entry = groups[group]
            rows.append({"a": a, "b": b, "group": group, **{k: entry.get(k) for k in CSV_FIELDS[3:]}})
    return rows


def to_csv(result: dict[str, Any]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(CSV_FIELDS), lineterminator="\n")
    writer.writeheader()
    for row in flat_rows(result):
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def _num(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _p(value: Any) -> str:
    return "-" if value is None else (f"{value:.2g}" if value < 0.001 else f"{value:.3f}")


def display_rows(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and string cells (for markdown and rich): A - B, its interval and p per group."""
    level = int(round(100 * result["level"]))
    holm_column = "groups" not in result
    header = ["A", "B", "group", "A - B", f"{level}% interval", "p"] + (["p (Holm)"] if holm_column else []) + ["seeds"]
    cells = []
    for row in flat_rows(result):
        line = [row["a"], row["b"], row["group"], _num(row["difference"]), f"[{_num(row['low'])}, {_num(row['high'])}]",
                _p(row["p_value"])]
        if holm_column:
            line.append(_p(row["p_holm"]))
        cells.append(line + [f"{row['n_a']} vs {row['n_b']} ({row['seeds']})"])
    return header, cells


def to_markdown(result: dict[str, Any]) -> str:
    header, rows = display_rows(result)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"
