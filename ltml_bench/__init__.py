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


def table(*args: Any, **kwargs: Any) -> Any:
    """Aggregate finished runs into a DataFrame; see `ltml_bench.reporting.tables.table`."""
    from ltml_bench.reporting.tables import table as _table

    return _table(*args, **kwargs)


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
