"""Average ranks across datasets, Friedman's test and Nemenyi's critical difference (Demšar 2006).

The methods compared are those (method, variant) rows of the fine-tuning track that have runs on
every dataset included; each dataset's value is the row's "all" mAP, mean over seeds. At least two
datasets and two such methods are needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ltml_bench.metrics.significance import Friedman, friedman


def rank_table(records: list[dict[str, Any]], variant: str = "default") -> tuple[list[str], list[str], np.ndarray, str]:
    """(datasets, methods, scores [datasets, methods], why-empty): mean "all" of the rows with runs on
    every dataset of the fine-tuning track (the methods' `variant` only)."""
    from ltml_bench.reporting.tables import protocol_of

    values: dict[tuple[str, str], list[float]] = {}
    for r in records:
        if protocol_of(r) != "finetune" or r.get("variant", "default") != variant or r["map"].get("all") is None:
            continue
        values.setdefault((str(r["dataset"]), str(r["method"])), []).append(float(r["map"]["all"]))
    datasets = sorted({d for d, _ in values})
    if len(datasets) < 2:
        return datasets, [], np.zeros((len(datasets), 0)), f"runs on {len(datasets)} dataset(s); ranks across datasets need 2 or more"
    methods = sorted({m for _, m in values if all((d, m) in values for d in datasets)})
    if len(methods) < 2:
        return datasets, methods, np.zeros((len(datasets), len(methods))), f"{len(methods)} method(s) have runs on every one of {', '.join(datasets)}; need 2 or more"
    scores = np.array([[float(np.mean(values[(d, m)])) for m in methods] for d in datasets])
    return datasets, methods, scores, ""


def across_datasets(records: list[dict[str, Any]], alpha: float = 0.05) -> tuple[Friedman | None, list[str], str]:
    """Friedman's test over the datasets with runs, its datasets, or (None, datasets, why not)."""
    datasets, methods, scores, reason = rank_table(records)
    if reason:
        return None, datasets, reason
    return friedman(scores, methods, alpha), datasets, ""
