"""The small Python API under the CLI (for notebooks and scripts).

    import ltml_bench
    record = ltml_bench.run(method="hmt", dataset="synth_lt", seed=0)
    record["map"]  # {'head': ..., 'middle': ..., 'tail': ..., 'all': ...} in percent
    ltml_bench.table(runs="runs", dataset="synth_lt")  # a pandas DataFrame, one row per method
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Mapping

from ltml_bench.config import TRAIN_FIELDS, RunConfig, TrainConfig, check_finite, check_seed, parse_value, unknown_key_error
from ltml_bench.errors import ConfigError, RunInterrupted, UserError, option
from ltml_bench.registry import DatasetSpec, MethodSpec, get_dataset, get_method
from ltml_bench.runs.records import RESULT_FILE, read_record, run_folder
from ltml_bench.training.execution import is_main_process

# harness settings that only a dataset can honour (as its own option): refused where it has none
IGNORED_UNLESS_DATASET_OPTION = ("image_size",)
SELECTION_DIR = "_selection"  # validation runs of hyper-parameter selection, under the runs folder


def resolve_config(
    method: MethodSpec,
    dataset: DatasetSpec,
    seed: int,
    settings: Mapping[str, Any] | None = None,
    epochs: int | None = None,
    backbone: str | None = None,
    device: str | None = None,
    pretrained: bool | None = None,
) -> RunConfig:
    """Resolve every setting of a run. `settings` values may be strings (from `--set`) or typed."""
    settings = dict(settings or {})
    loss_params, head_params = method.params_for(dataset.name)
    dataset_options = dict(dataset.options)
    sampler = method.sampler or "shuffle"
    if "sampler" in settings:
        sampler = str(settings["sampler"])
    recipe_name = str(settings.pop("recipe", "default"))
    recipe, recipe_resampled = _named_recipe(dataset, recipe_name)
    train_values: dict[str, Any] = dict(recipe)
    if sampler == "class_aware":
        train_values.update(recipe_resampled)
    train_values["sampler"] = sampler
    train_values["recipe"] = recipe_name
    overrides: dict[str, Any] = {}
    explicit = {"epochs": epochs, "backbone": backbone, "device": device, "pretrained": pretrained}
    for key, value in explicit.items():
        if value is not None:
            train_values[key] = value
            if key != "device":
                overrides[key] = value
    base = TrainConfig()
    valid = sorted(set(TRAIN_FIELDS) | set(loss_params) | set(head_params) | set(dataset_options))
    for key, raw in settings.items():
        if key in loss_params:
            target, default = loss_params, loss_params[key]
        elif key in head_params:
            target, default = head_params, head_params[key]
        elif key in dataset_options:
            target, default = dataset_options, dataset_options[key]
        elif key in TRAIN_FIELDS:
            target, default = train_values, getattr(base, key)
        else:
            raise unknown_key_error(key, valid, f"method {method.name!r} on dataset {dataset.name!r}")
        if key in IGNORED_UNLESS_DATASET_OPTION and target is train_values:
            raise ConfigError(f"--set {key}: dataset {dataset.name!r} ignores it (its images have a fixed size); drop --set {key}")
        value = parse_value(key, raw, default) if isinstance(raw, str) else raw
        check_finite(key, value)
        target[key] = value
        overrides[key] = value
    for key in list(train_values):
        if key not in TRAIN_FIELDS:
            raise ConfigError(f"dataset {dataset.name!r} recipe sets unknown harness key {key!r}")
    if recipe_name != "default":
        overrides["recipe"] = recipe_name
    train = dataclasses.replace(base, **train_values)
    if isinstance(train.lr_steps, list):
        train.lr_steps = tuple(train.lr_steps)
    _settle_weights(train, overrides)
    train.validate()
    return RunConfig(
        method=method.name, dataset=dataset.name, seed=check_seed(seed), train=train,
        loss_params=loss_params, head_params=head_params, dataset_options=dataset_options, overrides=overrides,
    )


def _named_recipe(dataset: DatasetSpec, name: str) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """The dataset's (recipe, recipe_resampled), or the named alternative `--set recipe=NAME`."""
    if name == "default":
        return dataset.recipe, dataset.recipe_resampled
    if name not in dataset.recipes:
        names = ", ".join(["default", *sorted(dataset.recipes)])
        raise ConfigError(f"--set recipe={name}: dataset {dataset.name!r} has no recipe of that name; its recipes: {names}")
    return dataset.recipes[name]


def _settle_weights(train: TrainConfig, overrides: Mapping[str, Any]) -> None:
    """Make the recipe's pretrained weights agree with what the user chose, and pin them by sha256.

    A recipe's shipped weights (`builtin:NAME`) fit one backbone: with `--no-pretrained` or another
    `--backbone` they fall away (the other backbone then trains from scratch unless `--pretrained`
    is given). Freezing stages and BatchNorm belongs to fine-tuning pretrained weights, so a backbone
    left without weights trains all of its layers, unless `freeze_prefixes` / `frozen_bn` are set
    explicitly. A weights file, shipped or not, is recorded with its sha256 (`weights_sha256`).
    """
    from ltml_bench.training.weights import resolve_weights, shipped

    if train.weights_file and "weights_file" not in overrides:
        entry = shipped(train.weights_file)
        if not train.pretrained or (entry is not None and entry.backbone != train.backbone):
            train.weights_file = ""
            if "pretrained" not in overrides:
                train.pretrained = False
    if not train.pretrained and not train.weights_file:
        if "freeze_prefixes" not in overrides:
            train.freeze_prefixes = ()
        if "frozen_bn" not in overrides:
            train.frozen_bn = False
    train.weights_sha256 = resolve_weights(train.weights_file)[1] if train.weights_file else ""


def run(
    method: str = "hmt",
    dataset: str = "synth_lt",
    seed: int = 0,
    *,
    settings: Mapping[str, Any] | None = None,
    epochs: int | None = None,
    backbone: str | None = None,
    device: str | None = None,
    pretrained: bool | None = None,
    out: str | Path = "runs",
    resume: bool = False,
    overwrite: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    log: Callable[[str], None] | None = None,
    eval_split: str = "test",
    wait: bool = False,
) -> dict[str, Any]:
    """Train and evaluate one method on one dataset with one seed; return the result record.

    `wait=True` (what sweeps use): a run being trained by another process right now is waited for
    and its result reused, instead of refused.

    A finished run with the same configuration and seed in `out` is returned as it is (its record
    gains `"reused": True`) unless `overwrite=True`.

    `eval_split="val"` is for hyper-parameter selection: it trains on the training set less a
    validation split carved from it (`ltml_bench.data.validation`, fixed seed) and evaluates on that
    split, never on the test set. Such runs live under `<out>/_selection/` and their records carry
    `"eval_split": "val"`; tables ignore them.
    """
    if eval_split not in ("test", "val"):
        raise UserError(f"eval_split={eval_split!r}: choose 'test' or 'val'")
    method_spec = get_method(method)
    dataset_spec = get_dataset(dataset)
    config = resolve_config(method_spec, dataset_spec, seed, settings, epochs, backbone, device, pretrained)
    runs = Path(out)
    if runs.exists() and not runs.is_dir():
        raise UserError(f"{option('--out', 'out', str(runs))} is a file, not a folder; give a folder for the runs")
    run_dir = run_folder(runs / SELECTION_DIR if eval_split == "val" else runs, dataset_spec.name, method_spec.name, config.seed, config.key())
    stored = _reused(run_dir / RESULT_FILE, overwrite, log)  # a corrupt record is replaced by a fresh run
    if stored is not None:
        return stored
    main = is_main_process()  # under torchrun only rank 0 writes files
    before = _FolderState.of(run_dir)
    created = _make_run_folder(runs, run_dir, main)
    lock = _lock_run_folder(run_dir, main, wait)
    try:
        # the other process may have finished this run while we waited for the lock
        if main and (stored := _reused(run_dir / RESULT_FILE, overwrite)) is not None:
            return stored
        return _train(method_spec, dataset_spec, config, run_dir, main, resume, progress, log, eval_split)
    except UserError:
        # bad input found before the first new checkpoint (data, backbone, head, device, a refused
        # checkpoint): leave the runs folder as it was; after one, the finished epochs are kept
        lock.release()
        if main and not before.checkpoint_changed(run_dir):
            before.restore(run_dir, created)
        raise
    except KeyboardInterrupt as exc:
        if isinstance(exc, RunInterrupted):
            raise
        raise RunInterrupted(_interrupted(run_dir, created if main else [], config.train.epochs)) from exc  # only rank 0 removes
    finally:
        lock.release()


def _reused(path: Path, overwrite: bool, log: Callable[[str], None] | None = None) -> dict[str, Any] | None:
    """The finished record at `path`, marked as reused; None with `overwrite` or when there is none."""
    stored = None if overwrite else _read_record(path, log)
    if stored is not None:
        stored["reused"] = True
    return stored


def _interrupted(run_dir: Path, created: list[Path], epochs: int) -> str:
    """What Ctrl-C leaves, truthfully: the checkpointed epochs to resume, or (before the first one)
    nothing, in which case a folder this call created is removed."""
    resume = option("--resume", "resume", True)
    if (run_dir / "checkpoint.pt").exists():
        log = run_dir / "log.txt"
        done = len(log.read_text().splitlines()) if log.exists() else 0
        return f"interrupted; {done} of {epochs} epoch(s) are checkpointed in {run_dir}, continue with {resume}"
    if created:
        _remove_new_folders(run_dir, created)
    return ("interrupted before the first epoch finished: nothing was checkpointed (the run folder was removed); "
            "run the same command again to start over")


def _remove_new_folders(run_dir: Path, created: list[Path]) -> None:
    """Remove a run folder this call created (Ctrl-C before the first checkpoint), and the empty
    parents it created."""
    import shutil

    shutil.rmtree(run_dir, ignore_errors=True)
    for folder in created[:-1][::-1]:
        try:
            folder.rmdir()  # only if empty: a concurrent run may have put its folder there
        except OSError:
            break


def _make_run_folder(runs: Path, run_dir: Path, main: bool) -> list[Path]:
    """Create `run_dir` (checking that it is writable); the folders this created, outermost first."""
    chain = [run_dir, *[parent for parent in run_dir.parents if parent == runs or runs in parent.parents]]
    created = [d for d in chain[::-1] if not d.exists()]
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        if main:
            probe = run_dir / ".write-test"
            probe.write_text("")
            probe.unlink()
    except OSError as exc:
        raise UserError(f"{option('--out', 'out', str(runs))}: cannot write there ({exc.strerror}); choose a writable folder") from exc
    return created


def _lock_run_folder(run_dir: Path, main: bool, wait: bool = False) -> Any:
    """Two identical commands must not write one folder at once; the kernel drops the lock however we end."""
    from ltml_bench.runs.records import LOCK_FILE
    from ltml_bench.storage.locks import FileLock

    lock = FileLock(run_dir / LOCK_FILE)
    if main and wait:
        lock.acquire(wait=True)
    elif main and not lock.acquire(wait=False):
        raise UserError(f"run folder {run_dir} is being trained by another process right now; wait for it to finish "
                        f"and repeat the command (it will reuse the result), or give another {option('--out', 'out')}")
    return lock


def _train(method_spec: MethodSpec, dataset_spec: DatasetSpec, config: RunConfig, run_dir: Path, main: bool, resume: bool,
           progress: Callable[[str, int, int], None] | None, log: Callable[[str], None] | None, eval_split: str) -> dict[str, Any]:
    """Write config.json and env.json, build the dataset and train through the loop."""
    from ltml_bench.config import to_jsonable
    from ltml_bench.runs.records import environment
    from ltml_bench.storage.files import write_json
    from ltml_bench.training.devices import resolve_device
    from ltml_bench.training.loop import Plan, train_and_evaluate

    if main:
        write_json(run_dir / "config.json", {"method": method_spec.name, "dataset": dataset_spec.name, **to_jsonable(config)})
    from ltml_bench.data.interface import build_bundle

    bundle = build_bundle(dataset_spec, config.dataset_options)
    record_extra: dict[str, Any] = {}
    if eval_split == "val":
        from ltml_bench.data.validation import validation_bundle

        bundle, split_info = validation_bundle(bundle)
        record_extra = {"eval_split": "val", "validation_split": split_info}
    if main:
        write_json(run_dir / "env.json", environment(str(resolve_device(config.train.device))))
    plan = Plan(spec=method_spec, bundle=bundle, config=config, run_dir=run_dir, resume=resume, progress=progress,
                log=log or (lambda line: None), record_extra=record_extra)
    return train_and_evaluate(plan)


@dataclasses.dataclass
class _FolderState:
    """The small files of a run folder before a command touched it, to put back on bad input."""

    exists: bool
    files: dict[str, bytes]
    checkpoint: tuple[int, int] | None  # (size, mtime_ns)

    @classmethod
    def of(cls, run_dir: Path) -> _FolderState:
        if not run_dir.is_dir():
            return cls(False, {}, None)
        files: dict[str, bytes] = {}
        for path in run_dir.iterdir():
            if path.is_file() and path.name != "checkpoint.pt" and path.stat().st_size < 1 << 20:
                files[path.name] = path.read_bytes()
        return cls(True, files, _stat(run_dir / "checkpoint.pt"))

    def checkpoint_changed(self, run_dir: Path) -> bool:
        now = _stat(run_dir / "checkpoint.pt")
        return now is not None and now != self.checkpoint

    def restore(self, run_dir: Path, created: list[Path]) -> None:
        if not self.exists:
            _remove_new_folders(run_dir, created)
            return
        for path in run_dir.iterdir():
            if path.is_file() and path.name != "checkpoint.pt" and path.name not in self.files:
                path.unlink(missing_ok=True)
        for name, data in self.files.items():
            target = run_dir / name
            if not target.is_file() or target.read_bytes() != data:
                target.write_bytes(data)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns)


def finished_record(
    method: str, dataset: str, seed: int, *, settings: Mapping[str, Any] | None = None, epochs: int | None = None,
    backbone: str | None = None, device: str | None = None, pretrained: bool | None = None,
    out: str | Path = "runs", eval_split: str = "test",
) -> dict[str, Any] | None:
    """The stored record of this run if it already finished in `out` (what `run` would reuse), else None."""
    method_spec = get_method(method)
    dataset_spec = get_dataset(dataset)
    config = resolve_config(method_spec, dataset_spec, seed, settings, epochs, backbone, device, pretrained)
    runs = Path(out) / SELECTION_DIR if eval_split == "val" else Path(out)
    return _read_record(run_folder(runs, dataset_spec.name, method_spec.name, config.seed, config.key()) / RESULT_FILE)


def _read_record(path: Path, log: Callable[[str], None] | None = None) -> dict[str, Any] | None:
    """The record at `path` if `table` would show it (`runs.records.record_problem`), else None:
    a missing, corrupt or invalid record is never reused (the run trains again and replaces it)."""
    record, problem = read_record(path)
    if record is None and path.exists() and log is not None:
        log(f"{path}: {problem}; training the run again")
    return record
