"""What `ltml-bench show NAME` and `ltml-bench list --format json` say about a method or a dataset.

`method_facts(spec, origin)` and `dataset_facts(spec, origin)` are plain dicts (JSON-able): paper,
formula line, hyper-parameters with their defaults, per-dataset values and sweep grid, sampler,
published numbers, and where the code lives. They read the registry only: nothing is trained and
torch is not imported for a built-in method.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from typing import Any

from ltml_bench.config import to_jsonable
from ltml_bench.errors import RegistryError

GROUPS = ("head", "middle", "tail", "all")
_FIELD = re.compile(r"^[A-Z][A-Za-z ,/()-]*:\s")  # "Defaults: ...", "Paper: ..." start a new docstring field


def _module_of(spec: Any) -> Any:
    """The module that defines the spec: the one holding it as `SPEC`, else the module of its
    loss or head import string (plugins made by a function or a `--plugin` file)."""
    for module in list(sys.modules.values()):
        if getattr(module, "SPEC", None) is spec:
            return module
    for ref in (getattr(spec, "loss", None), getattr(spec, "head", None)):
        if isinstance(ref, str) and ":" in ref:
            module = sys.modules.get(ref.partition(":")[0])
            if module is not None:
                return module
    return None


def _file_of(module: Any) -> str | None:
    file = getattr(module, "__file__", None)
    return str(Path(file).resolve()) if file else None


def formula_line(spec: Any, module: Any) -> str:
    """`spec.formula`, else the "Formula:" paragraph of the method module's docstring, else ""."""
    if getattr(spec, "formula", ""):
        return str(spec.formula)
    doc = inspect.cleandoc(module.__doc__) if module is not None and module.__doc__ else ""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("Formula:"):
            parts = [line[len("Formula:"):].strip()]
            for follow in lines[i + 1:]:
                if not follow.strip() or _FIELD.match(follow):
                    break
                parts.append(follow.strip())
            return " ".join(parts)
    return ""


def method_facts(spec: Any, origin: str) -> dict[str, Any]:
    """The public facts of a `MethodSpec` (every field, the hyper-parameters as rows)."""
    module = _module_of(spec)
    datasets = sorted(spec.dataset_params)
    params = []
    for part, values in (("loss", spec.loss_params), ("head", spec.head_params)):
        for key, default in values.items():
            params.append({
                "name": key, "of": part, "default": to_jsonable(default),
                "per_dataset": {d: to_jsonable(spec.dataset_params[d][key]) for d in datasets if key in spec.dataset_params[d]},
                "sweep": to_jsonable(list(spec.sweep[key])) if key in spec.sweep else [],
            })
    return {
        "kind": "method", "name": spec.name, "title": spec.title, "paper": spec.paper, "summary": spec.summary,
        "formula": formula_line(spec, module), "sampler": spec.sampler or "shuffle", "origin": origin,
        "hyperparameters": params,
        "reported": {d: dict(zip(GROUPS, (float(v) for v in values))) for d, values in sorted(spec.reported.items())},
        "code": {"module": getattr(module, "__name__", None), "file": _file_of(module), "loss": spec.loss, "head": spec.head},
    }


def dataset_facts(spec: Any, origin: str) -> dict[str, Any]:
    """The public facts of a `DatasetSpec`: options with defaults, recipe, where the builder lives."""
    module = sys.modules.get(getattr(spec.build, "__module__", "") or "")
    return {
        "kind": "dataset", "name": spec.name, "title": spec.title, "summary": spec.summary, "origin": origin,
        "options": {k: to_jsonable(v) for k, v in spec.options.items()},
        "recipe": {k: to_jsonable(v) for k, v in spec.recipe.items()},
        "recipe_resampled": {k: to_jsonable(v) for k, v in spec.recipe_resampled.items()},
        "code": {"module": getattr(module, "__name__", None), "file": _file_of(module),
                 "build": getattr(spec.build, "__qualname__", repr(spec.build))},
    }


def describe(name: str) -> dict[str, Any]:
    """Facts of the method or dataset `name` (`{"method": ..., "dataset": ...}`, the kinds that
    have that name); an unknown name is a `RegistryError` naming the valid ones."""
    from ltml_bench.registry import DATASETS, METHODS

    found: dict[str, Any] = {}
    if name in METHODS.names():
        found["method"] = method_facts(METHODS.get(name), METHODS.origin(name))
    if name in DATASETS.names():
        found["dataset"] = dataset_facts(DATASETS.get(name), DATASETS.origin(name))
    if not found:
        valid = sorted(set(METHODS.names()) | set(DATASETS.names()))
        import difflib

        close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise RegistryError(f"no method or dataset is called {name!r}.{hint} Valid: {', '.join(valid)}.")
    return found
