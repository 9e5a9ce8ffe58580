"""ltml-bench: a benchmark for long-tailed multi-label classification.

One registry of methods (`ltml_bench.methods`), one dataset interface (`ltml_bench.datasets`),
one training harness (`ltml_bench.training.loop`), per-class AP and head / middle / tail mAP
(`ltml_bench.metrics`), and a reporter (`ltml_bench.reporting.tables`). Heavy libraries (torch, timm) are
imported only when used.
"""

from __future__ import annotations

from typing import Any

from ltml_bench._version import __version__

__all__ = ["__version__", "run", "table", "create_loss", "list_methods", "list_datasets", "load_plugin", "describe"]


def run(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Train and evaluate one run; see `ltml_bench.api.run`."""
    from ltml_bench.api import run as _run

    return _run(*args, **kwargs)


def table(runs: Any = "runs", dataset: str | None = None, reported: bool = False, intervals: bool = False,
          resamples: int = 1000, level: float = 0.95) -> Any:
    """Aggregate finished runs into a DataFrame (`ltml_bench.reporting.tables.table`): one row per
    (dataset, method, variant), mean / std per group, ranked by all.

    `intervals=True` adds what `ltml-bench table` shows: the two-level bootstrap interval of each
    group's mean (`resamples` image resamples, confidence `level`), the tie mark against the
    top-ranked row and the reproduction verdict (the columns of
    `ltml_bench.reporting.tables.UNCERTAINTY_COLUMNS`, made by `ltml_bench.reporting.marks`)."""
    from ltml_bench.reporting import tables

    if not intervals:
        return tables.table(runs, dataset, reported)
    from ltml_bench.metrics.intervals import BootstrapSettings
    from ltml_bench.reporting.marks import annotate

    loaded, _ = tables.collect_loaded(runs, dataset)
    frame = tables.aggregate([item.record for item in loaded], reported=reported, dataset=dataset)
    return annotate(frame, loaded, BootstrapSettings(resamples=resamples, level=level)) if loaded else frame


def create_loss(name: str, class_counts: Any, num_samples: int, **hyperparameters: Any) -> Any:
    """A loss module `(logits[B, C], targets[B, C]) -> scalar`; see `ltml_bench.losses.create_loss`."""
    from ltml_bench.losses import create_loss as _create_loss

    return _create_loss(name, class_counts, num_samples, **hyperparameters)


def list_methods() -> list[str]:
    from ltml_bench.registry import METHODS

    return METHODS.names()


def list_datasets() -> list[str]:
    from ltml_bench.registry import DATASETS

    return DATASETS.names()


def load_plugin(path: Any) -> None:
    """Import a local `.py` file that registers methods or datasets (what `--plugin FILE` does):

        ltml_bench.load_plugin("my_method.py")
        ltml_bench.run(method="sq_hinge")

    A file that is missing or fails to import raises `ltml_bench.errors.UserError` naming it."""
    from ltml_bench.registry import load_plugin_file

    load_plugin_file(path)


def describe(name: str) -> dict[str, Any]:
    """Everything `ltml-bench show NAME` prints about a method or dataset, as a dict; see
    `ltml_bench.reporting.describe.describe`."""
    from ltml_bench.reporting.describe import describe as _describe

    return _describe(name)
