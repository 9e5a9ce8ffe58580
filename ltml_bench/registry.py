"""One registry for methods and one for datasets, with plugin discovery.

Built-ins register themselves when their module under `ltml_bench.methods` / `ltml_bench.datasets`
is imported. Plugins are found through the entry-point groups `ltml_bench.methods` and
`ltml_bench.datasets`: names are listed without importing anything, and a plugin is imported
only when its name is asked for (or when everything is listed). A plugin that fails to import is
skipped with a warning naming its distribution; a plugin that reuses a built-in name is rejected.
`LTML_BENCH_NO_PLUGINS=1` turns discovery off; `LTML_BENCH_PLUGINS=dist-a,dist-b` keeps only the
entry points of those distributions (the test suite uses both, so that whatever happens to be
installed cannot change its results). `load_plugin_file(path)` imports a local file that
registers methods or datasets itself (the CLI's `--plugin`, the API's `ltml_bench.load_plugin`).
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Generic, Mapping, TypeVar

from ltml_bench.errors import RegistryError, UserError, command_line_names

BUILTIN_METHOD_MODULES: tuple[str, ...] = (
    "erm", "rw", "rs", "focal", "lsep", "ml_gcn", "ldam", "cb_focal", "circle", "db_focal", "asl", "zlpr", "balpoe", "hmt",
)
BUILTIN_DATASET_MODULES: tuple[str, ...] = ("synth_lt", "synth_world", "voc_lt", "coco_lt", "csv")


@dataclass(frozen=True)
class MethodSpec:
    """What a method supplies to the one harness.

    Attributes:
        name: stable lowercase key (`ltml-bench run --method NAME`).
        title: display name used in tables ("DB Focal").
        paper: short reference ("Wu et al., ECCV 2020").
        summary: one line.
        loss: import string "module:Class" of a loss taking (train_output, targets); the class is
            constructed as `Class(class_counts, num_samples, **loss_params)`.
        head: import string of the classification head (None: the recipe's linear classifier);
            constructed as `Class(in_features, num_classes, class_counts=..., **head_params)`.
        sampler: None (shuffled epochs) or "class_aware" (the class-aware re-sampling of
            docs/protocol.md section 3.3).
        loss_params / head_params: hyper-parameters and their defaults (all `--set`-able).
        dataset_params: per-dataset overrides of those defaults ({"voc_lt": {"mu": 0.3}}).
        sweep: values worth searching for each hyper-parameter.
        reported: published mAP (head, middle, tail, all) per dataset key, shown beside ours in
            tables (docs/protocol.md section 4.1).
        formula: one line stating what the loss computes (shown by `ltml-bench show`); empty:
            the first line of the loss class's docstring is shown instead.
    """

    name: str
    title: str
    paper: str
    summary: str
    loss: str
    head: str | None = None
    sampler: str | None = None
    loss_params: Mapping[str, Any] = field(default_factory=dict)
    head_params: Mapping[str, Any] = field(default_factory=dict)
    dataset_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    sweep: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    reported: Mapping[str, tuple[float, float, float, float]] = field(default_factory=dict)
    formula: str = ""

    def params_for(self, dataset: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """(loss_params, head_params) with this dataset's published overrides applied."""
        loss = dict(self.loss_params)
        head = dict(self.head_params)
        for key, value in self.dataset_params.get(dataset, {}).items():
            (loss if key in loss else head)[key] = value
        return loss, head


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: a name, a builder, its options and the harness recipe it trains with.

    Attributes:
        name: stable lowercase key (`ltml-bench run --dataset NAME`).
        title: display name ("VOC-LT").
        summary: one line, shown by `ltml-bench list`.
        build: the builder, called as `build(**options)` with keyword arguments only: one per key
            of `options`, each holding its default or the user's `--set KEY=VALUE` (parsed to the
            type of the default). It returns a `ltml_bench.data.DatasetBundle`. Write it as
            `def build(size: int = 64, seed: int = 0) -> DatasetBundle` (parameters named like the
            keys of `options`), or add `**_: Any` to ignore options it does not use. A builder
            whose signature cannot take those keyword arguments is refused when the spec is made.
        recipe: harness defaults for this dataset, any fields of `ltml_bench.config.TrainConfig`
            (`epochs`, `batch_size`, `image_size`, `backbone`, `pretrained`, `lr`, `lr_steps`,
            `warmup_iters`, `neck_dim`, ...); unset fields keep TrainConfig's defaults, which are
            the published ResNet-50 recipe (`ltml_bench.recipes.DB_RESNET50`). A small dataset
            should set at least `backbone`, `pretrained`, `epochs`, `batch_size` and
            `warmup_iters`.
        recipe_resampled: overrides of `recipe` for methods that train with the class-aware
            sampler (their epochs are longer, so they usually train fewer of them).
        options: the dataset's own `--set` keys with their defaults (e.g. `{"data_root": ""}`);
            the defaults' types are what `--set` values are parsed to. `data_root`, if present,
            is what `--data-root` sets.
        recipes: named alternatives to (`recipe`, `recipe_resampled`), chosen with
            `--set recipe=NAME` (synth_lt: `scratch`, its former from-scratch regime).
    """

    name: str
    title: str
    summary: str
    build: Callable[..., Any]
    recipe: Mapping[str, Any] = field(default_factory=dict)
    recipe_resampled: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    # named alternatives to (recipe, recipe_resampled), chosen with `--set recipe=NAME`
    recipes: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_build_signature(self.name, self.build, self.options)


def check_build_signature(name: str, build: Callable[..., Any], options: Mapping[str, Any]) -> None:
    """Refuse, in one line, a builder that cannot be called as `build(**options)`."""
    if not callable(build):
        raise RegistryError(f"dataset {name!r}: build is {type(build).__name__}, not a function; {_expected_build(options)}")
    try:
        signature = inspect.signature(build)
    except (TypeError, ValueError):
        return  # a builtin or C function: nothing to check
    params = list(signature.parameters.values())
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params)
    keywords = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    required = [p.name for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    missing = [key for key in options if key not in keywords and not takes_any]
    unfilled = [p for p in required if p not in options]
    if missing or unfilled:
        got = f"build{signature}"
        raise RegistryError(f"dataset {name!r}: {got} cannot be called as build(**options); {_expected_build(options)}")


def _expected_build(options: Mapping[str, Any]) -> str:
    args = ", ".join(f"{key}={value!r}" for key, value in options.items())
    return f"expected def build({args}) -> DatasetBundle (one keyword argument per key of the spec's options, or **options)"


T = TypeVar("T", MethodSpec, DatasetSpec)


def _suggest(name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"{hint} Valid: {', '.join(sorted(valid))}."


class Registry(Generic[T]):
    """Name -> spec. Built-ins load on first use, plugins on demand."""

    def __init__(self, kind: str, package: str, builtin_modules: tuple[str, ...]) -> None:
        self.kind = kind
        self.group = f"ltml_bench.{kind}s"
        self._package = package
        self._builtin_modules = builtin_modules
        self._specs: dict[str, T] = {}
        self._origin: dict[str, str] = {}
        self._builtins_loaded = False

    # -- registration -------------------------------------------------------------------------
    def register(self, spec: T, origin: str = "builtin") -> T:
        if not spec.name or spec.name != spec.name.strip():
            raise RegistryError(f"{self.kind} name {spec.name!r} is empty or has spaces")
        if spec.name in self._specs:
            prior = self._origin[spec.name]
            raise RegistryError(
                f"{self.kind} {spec.name!r} is already registered (by {prior}); choose another name"
            )
        self._specs[spec.name] = spec
        self._origin[spec.name] = origin
        return spec

    def unregister(self, name: str) -> None:
        self._specs.pop(name, None)
        self._origin.pop(name, None)

    def _load_builtins(self) -> None:
        if self._builtins_loaded:
            return
        self._builtins_loaded = True
        for module in self._builtin_modules:
            importlib.import_module(f"{self._package}.{module}")

    # -- plugins ------------------------------------------------------------------------------
    def plugin_entry_points(self) -> list[metadata.EntryPoint]:
        """The group's entry points, honouring `LTML_BENCH_NO_PLUGINS` and `LTML_BENCH_PLUGINS`."""
        if os.environ.get("LTML_BENCH_NO_PLUGINS") == "1":
            return []
        points = list(metadata.entry_points(group=self.group))
        only = os.environ.get("LTML_BENCH_PLUGINS", "").strip()
        if only:
            keep = {_normalised(d) for d in only.split(",") if d.strip()}
            points = [ep for ep in points if ep.dist is not None and _normalised(ep.dist.name) in keep]
        return points

    def _load_plugin(self, ep: metadata.EntryPoint) -> None:
        dist = ep.dist.name if ep.dist is not None else "unknown distribution"
        origin = f"plugin {ep.name!r} from distribution {dist!r}"
        if ep.name in self._specs and self._origin.get(ep.name) == "builtin":
            warnings.warn(
                f"ltml-bench: {origin} reuses the built-in {self.kind} name {ep.name!r}; rejected",
                stacklevel=2,
            )
            return
        if ep.name in self._specs:
            return  # already loaded
        try:
            obj = ep.load()
            spec = obj() if callable(obj) and not isinstance(obj, (MethodSpec, DatasetSpec)) else obj
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken plugin (even one calling sys.exit) must not break the tool
            warnings.warn(
                f"ltml-bench: skipped {origin}: it failed to import ({type(exc).__name__}: {exc})",
                stacklevel=2,
            )
            return
        expected = MethodSpec if self.kind == "method" else DatasetSpec
        if not isinstance(spec, expected):
            warnings.warn(
                f"ltml-bench: skipped {origin}: it must point to a {expected.__name__} "
                f"(or a function returning one), got {type(spec).__name__}",
                stacklevel=2,
            )
            return
        if self._specs.get(spec.name) is spec:  # the module registered this very spec on import
            self._origin[spec.name] = origin
            return
        if spec.name != ep.name:
            spec = _renamed(spec, ep.name)
        if spec.name in self._specs:
            return
        self.register(spec, origin=origin)

    # -- lookup -------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """All names (built-ins and plugins) without importing plugins."""
        self._load_builtins()
        names = set(self._specs)
        names.update(ep.name for ep in self.plugin_entry_points())
        return sorted(names)

    def get(self, name: str) -> T:
        self._load_builtins()
        if name in self._specs and self._origin[name] == "builtin":
            # a plugin of the same name is rejected, but still reported
            for ep in self.plugin_entry_points():
                if ep.name == name:
                    self._load_plugin(ep)
            return self._specs[name]
        if name not in self._specs:
            for ep in self.plugin_entry_points():
                if ep.name == name:
                    self._load_plugin(ep)
        if name not in self._specs:
            raise RegistryError(f"unknown {self.kind} {name!r}.{_suggest(name, self.names())}")
        return self._specs[name]

    def all(self) -> list[T]:
        self._load_builtins()
        for ep in self.plugin_entry_points():
            self._load_plugin(ep)
        return [self._specs[n] for n in sorted(self._specs)]

    def origin(self, name: str) -> str:
        self.get(name)
        return self._origin[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()


def _normalised(distribution: str) -> str:
    return distribution.strip().lower().replace("_", "-").replace(".", "-")


def _renamed(spec: T, name: str) -> T:
    from dataclasses import replace

    return replace(spec, name=name)


METHODS: Registry[MethodSpec] = Registry("method", "ltml_bench.methods", BUILTIN_METHOD_MODULES)
DATASETS: Registry[DatasetSpec] = Registry("dataset", "ltml_bench.datasets", BUILTIN_DATASET_MODULES)


def register_method(spec: MethodSpec) -> MethodSpec:
    """Register a method (built-in modules and `--plugin` files call this)."""
    return METHODS.register(spec, origin="local plugin")


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Register a dataset builder."""
    return DATASETS.register(spec, origin="local plugin")


def get_method(name: str) -> MethodSpec:
    return METHODS.get(name)


def get_dataset(name: str) -> DatasetSpec:
    return DATASETS.get(name)


def load_plugin_file(path: str | os.PathLike[str]) -> None:
    """Import a local Python file that registers methods or datasets (`--plugin FILE`)."""
    file = Path(path)
    if not file.is_file() or file.suffix != ".py":
        raise UserError(f"{_plugin_arg(path)}: not a readable .py file; give the path of a Python file")
    METHODS._load_builtins()
    DATASETS._load_builtins()
    # one module per file, not per file name: a/mymethod.py and b/mymethod.py must not share one
    resolved = str(file.resolve())
    module_name = f"ltml_bench_plugin_{_identifier(file.stem)}_{hashlib.sha256(resolved.encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except UserError:
        raise
    except SystemExit as exc:  # a plugin must not end the command (or make it exit 0 with no output)
        sys.modules.pop(module_name, None)
        raise UserError(f"--plugin {str(path)!r} failed to import: it called sys.exit({exc.code!r}); remove that call from the file") from None
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise UserError(
            f"{_plugin_arg(path)} failed to import: {type(exc).__name__}: {exc}"
        ) from exc


def _plugin_arg(path: str | os.PathLike[str]) -> str:
    return f"--plugin {str(path)!r}" if command_line_names() else f"load_plugin({str(path)!r})"


def check_method_spec(spec: MethodSpec) -> None:
    """The checks every registered method passes (the project's tests run them on the built-ins;
    a plugin's tests call them on its spec). Raises `RegistryError` naming the first problem."""
    if not isinstance(spec, MethodSpec):
        raise RegistryError(f"expected a MethodSpec, got {type(spec).__name__}")
    where = f"method {spec.name!r}"
    for name in ("name", "title", "paper", "summary", "loss"):
        if not getattr(spec, name):
            raise RegistryError(f"{where}: empty {name}")
    if spec.name != spec.name.lower() or not spec.name.replace("_", "").isalnum():
        raise RegistryError(f"{where}: the name must be lowercase letters, digits and '_'")
    if spec.sampler not in (None, "class_aware"):
        raise RegistryError(f"{where}: sampler {spec.sampler!r}; use None or 'class_aware'")
    params = set(spec.loss_params) | set(spec.head_params)
    both = set(spec.loss_params) & set(spec.head_params)
    if both:
        raise RegistryError(f"{where}: {sorted(both)} are both loss and head parameters; rename one")
    for dataset, values in spec.dataset_params.items():
        if set(values) - params:
            raise RegistryError(f"{where}: dataset_params[{dataset!r}] has unknown keys {sorted(set(values) - params)}")
    from ltml_bench.config import TRAIN_FIELDS

    if set(spec.sweep) - params - set(TRAIN_FIELDS):
        unknown = sorted(set(spec.sweep) - params - set(TRAIN_FIELDS))
        raise RegistryError(f"{where}: sweep has keys that are neither hyper-parameters nor harness settings: {unknown}")
    for key, values in spec.sweep.items():
        if not isinstance(values, tuple) or not values:
            raise RegistryError(f"{where}: sweep[{key!r}] must be a non-empty tuple of values")
    for dataset, numbers in spec.reported.items():
        if len(numbers) != 4:
            raise RegistryError(f"{where}: reported[{dataset!r}] must be (head, middle, tail, all)")
    for ref in (spec.loss, spec.head):
        if ref and ":" in ref:
            try:
                import_object(ref)
            except (ImportError, AttributeError) as exc:
                raise RegistryError(f"{where}: {ref!r} does not import ({type(exc).__name__}: {exc})") from None


def check_dataset_spec(spec: DatasetSpec) -> None:
    """The checks every registered dataset passes; raises `RegistryError` naming the first problem."""
    if not isinstance(spec, DatasetSpec):
        raise RegistryError(f"expected a DatasetSpec, got {type(spec).__name__}")
    where = f"dataset {spec.name!r}"
    for name in ("name", "title", "summary"):
        if not getattr(spec, name):
            raise RegistryError(f"{where}: empty {name}")
    if spec.name != spec.name.lower() or not spec.name.replace("_", "").isalnum():
        raise RegistryError(f"{where}: the name must be lowercase letters, digits and '_'")
    check_build_signature(spec.name, spec.build, spec.options)
    from ltml_bench.config import TRAIN_FIELDS

    for recipe in (spec.recipe, spec.recipe_resampled):
        unknown = sorted(set(recipe) - set(TRAIN_FIELDS))
        if unknown:
            raise RegistryError(f"{where}: recipe keys {unknown} are not fields of ltml_bench.config.TrainConfig")


def _identifier(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in text)


def import_object(ref: str) -> Any:
    """Resolve "package.module:Attribute"."""
    module_name, _, attr = ref.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module
