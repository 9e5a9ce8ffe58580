"""The one training loop every method runs through.

`train_and_evaluate(plan)` reads like the protocol: build the model, loss and optimiser; resume
from the last checkpoint; for each epoch, train and checkpoint; evaluate on the test split; write
the result record. Each step is a component it calls (`components`, `checkpoint`, `execution`,
`schedule`, `inputs`, `probe`), so the loop itself has no branch on one process versus torchrun
and no file handling.

The recipe: SGD with linear warm-up and step decay, gradient clipping, bf16 autocast on CUDA. On
CPU a seeded run is deterministic, and a run resumed from its last checkpoint ends with exactly
the metrics of an uninterrupted one: the epoch order and augmentation are functions of
(seed, epoch), and the checkpoint carries the model, optimiser and torch RNG state.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch
from torch import nn

from ltml_bench.config import RunConfig
from ltml_bench.data.interface import DatasetBundle
from ltml_bench.errors import ConfigError, TrainingDiverged, UserError, setting
from ltml_bench.metrics import GroupRule, group_report
from ltml_bench.metrics.intervals import BootstrapSettings, run_intervals
from ltml_bench.runs.records import RESULT_FILE, build_record
from ltml_bench.storage.files import atomic_write_bytes, write_json
from ltml_bench.training import execution as executions
from ltml_bench.training.checkpoint import Checkpoint, EpochLog, Progress
from ltml_bench.training.components import Components, build_components, check_head
from ltml_bench.training.devices import resolve_device, seed_everything
from ltml_bench.training.execution import SingleProcess
from ltml_bench.training.inputs import Loader, predict, prepare_images, to_device
from ltml_bench.training.probe import as_probe_bundle
from ltml_bench.training.schedule import augmentation_generator, batches, epoch_indices, lr_at, warn_about_recipe

if TYPE_CHECKING:
    from ltml_bench.registry import MethodSpec

FINITE_CHECK_EVERY = 50  # on CUDA the loss is checked for NaN/inf every this many steps (no host sync per step)


@dataclass
class Plan:
    """Everything the loop needs for one run."""

    spec: MethodSpec
    bundle: DatasetBundle
    config: RunConfig
    run_dir: Path
    resume: bool = False
    progress: Callable[[str, int, int], None] | None = None  # (phase, done, total)
    log: Callable[[str], None] = field(default=lambda line: None)
    record_extra: dict[str, Any] = field(default_factory=dict)  # merged into the result record


def train_and_evaluate(plan: Plan) -> dict[str, Any]:
    """Train, evaluate and write the result record; every process of a torchrun launch returns it."""
    execution = executions.start(resolve_device(plan.config.train.device))
    try:
        record = _run(plan, execution)
    except BaseException:
        execution.stop(clean=False)  # the other ranks may be stuck in a collective
        raise
    execution.stop()
    return record


def _run(plan: Plan, ex: SingleProcess) -> dict[str, Any]:
    cfg, device = plan.config.train, ex.device
    log = plan.log if ex.is_writer else (lambda line: None)
    seed_everything(plan.config.seed, device)
    check_epoch_has_batches(plan)
    bundle, probe_info = plan.bundle, None
    if cfg.protocol == "probe":  # the images become cached frozen-backbone features
        bundle, probe_info = as_probe_bundle(plan.bundle, plan.config, device, ex, plan.progress, log)

    parts = build_components(plan.spec, bundle, plan.config, device, probe_info and probe_info["feature_dim"], log)
    prepare_images(bundle, device, ex, plan.progress, log)
    train_loader = Loader(bundle.train.dataset, cfg.num_workers)
    check_head(parts.model, bundle, train_loader, device, plan.spec.name)
    if ex.is_writer:  # one line per recipe problem (a warm-up longer than the training, tiny epochs, ...)
        warn_about_recipe(cfg, len(batches(epoch_indices(cfg, bundle.train.labels, plan.config.seed, 0), cfg.batch_size)), len(bundle.train))

    plan.run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint = Checkpoint(plan.run_dir, plan.config.key(), device, log)
    progress = checkpoint.restore(plan.resume, ex.is_writer, parts.model, parts.optimizer, parts.criterion)
    epoch_log = EpochLog(plan.run_dir)
    if ex.is_writer:
        epoch_log.keep_epochs(progress.epoch)

    train_model = ex.wrap(parts.model)
    if cfg.compile:
        train_model = torch.compile(train_model)
    started = time.perf_counter() - progress.seconds
    for epoch in range(progress.epoch, cfg.epochs):
        mean_loss = train_one_epoch(plan, bundle, parts, train_model, train_loader, ex, epoch, progress)
        progress.epoch, progress.seconds = epoch + 1, time.perf_counter() - started
        if ex.is_writer:
            checkpoint.save(progress, parts.model, parts.optimizer, parts.criterion)
            line = (f"epoch {epoch + 1}/{cfg.epochs} loss {mean_loss:.4f} lr {lr_at(cfg, epoch, progress.iteration):.5f} "
                    f"elapsed {progress.seconds:.1f}s")
            epoch_log.append(line)  # after the checkpoint: a logged epoch is a checkpointed one
            log(line)
    train_seconds = time.perf_counter() - started

    scores = evaluate(parts, Loader(bundle.test.dataset, cfg.num_workers), len(bundle.test), cfg.eval_batch_size, ex)
    if not ex.is_writer:
        return ex.share_record(None)
    record = write_results(plan, bundle, scores, train_seconds, str(device), probe_info, ex.world)
    return ex.share_record(record)


def train_one_epoch(plan: Plan, bundle: DatasetBundle, parts: Components, train_model: nn.Module, loader: Loader,
                    ex: SingleProcess, epoch: int, progress: Progress) -> float:
    """One epoch of SGD steps; the mean training loss over its batches."""
    cfg, seed, device = plan.config.train, plan.config.seed, ex.device
    for owner in (parts.criterion, parts.model.head):
        if hasattr(owner, "set_epoch"):
            owner.set_epoch(epoch)
    parts.model.train()
    plan_batches = ex.epoch_batches(batches(epoch_indices(cfg, bundle.train.labels, seed, epoch), cfg.batch_size), loader.in_memory)
    steps = len(plan_batches.global_)
    guard = FiniteGuard(plan.spec.name, device, ex, steps)
    total_loss = torch.zeros((), device=device)
    for step, (x, y) in enumerate(loader.iterate(plan_batches.load, train=True, generator=augmentation_generator(seed, epoch))):
        for group in parts.optimizer.param_groups:
            group["lr"] = lr_at(cfg, epoch, progress.iteration)
        x, y, share = ex.local_share(x, y, len(plan_batches.global_[step]), loader.in_memory)
        with parts.autocast():
            out = train_model(to_device(x, device))
        loss = parts.criterion(out, y.to(device, non_blocking=True))
        if step == 0:
            check_loss_value(loss, plan.spec.name)
        guard.check(loss, epoch, step)
        parts.optimizer.zero_grad(set_to_none=True)
        (loss * share if share != 1.0 else loss).backward()
        ex.average_gradients(parts.criterion_params)  # loss parameters live outside DDP
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(parts.params, cfg.grad_clip)
        parts.optimizer.step()
        total_loss += loss.detach()
        progress.iteration += 1
        if plan.progress:
            plan.progress("train", epoch * steps + step + 1, cfg.epochs * steps)
    return float(ex.mean(total_loss)) / max(1, steps)


def check_epoch_has_batches(plan: Plan) -> None:
    """Refuse, before anything is trained, settings whose epochs hold no batch (they would record
    the untrained model as a finished result)."""
    cfg = plan.config.train
    order = epoch_indices(cfg, plan.bundle.train.labels, plan.config.seed, 0)
    if not batches(order, cfg.batch_size):
        sampler = f"sampler={cfg.sampler}" + (f", epoch_reduce={cfg.epoch_reduce}" if cfg.sampler == "class_aware" else "")
        raise ConfigError(
            f"an epoch of {plan.spec.name!r} on {plan.bundle.name} holds {len(order)} image(s) ({sampler}, batch_size={cfg.batch_size}): "
            f"no batch of two or more to train on; lower epoch_reduce or batch_size"
        )


def check_loss_value(loss: Any, method: str) -> None:
    """A method's loss must return a scalar tensor; said on the first batch, naming the method."""
    if not isinstance(loss, torch.Tensor):
        raise UserError(f"method {method!r}: its loss returned a {type(loss).__name__}, not a tensor; return a scalar (0-dim) tensor")
    if loss.dim() != 0 or not loss.is_floating_point():
        raise UserError(f"method {method!r}: its loss returned a {loss.dtype} tensor of shape {tuple(loss.shape)}; "
                        f"return a scalar (0-dim) floating tensor, e.g. loss.mean()")
    if not loss.requires_grad:
        raise UserError(f"method {method!r}: its loss does not depend on the model's output (no gradient); compute it from the logits")


class FiniteGuard:
    """Stops training with one line when the loss becomes NaN or inf: checked every step on CPU,
    every `FINITE_CHECK_EVERY` steps and at the epoch's end on CUDA (no host sync per step); every
    process of a torchrun launch stops together."""

    def __init__(self, method: str, device: torch.device, ex: SingleProcess, steps: int) -> None:
        self.method, self.device, self.ex, self.steps = method, device, ex, steps
        self.nonfinite = torch.zeros((), dtype=torch.bool, device=device)

    def check(self, loss: torch.Tensor, epoch: int, step: int) -> None:
        self.nonfinite = self.nonfinite | ~torch.isfinite(loss.detach())
        cpu = self.device.type == "cpu"
        if not (cpu or (step + 1) % FINITE_CHECK_EVERY == 0 or step + 1 == self.steps):
            return
        if self.ex.any(self.nonfinite.to(torch.int32)).item():
            where = f"step {step + 1}" if cpu else f"by step {step + 1}"
            value = loss.item() if bool(~torch.isfinite(loss)) else "not finite"
            raise TrainingDiverged(
                f"method {self.method!r}: loss is {value} at epoch {epoch + 1}, {where}; "
                f"lower the learning rate ({setting('lr', '...')}) or check the method's hyper-parameters"
            )


def evaluate(parts: Components, loader: Loader, size: int, batch_size: int, ex: SingleProcess) -> torch.Tensor | None:
    """Test scores [N, C] of the clean model; each process scores its rows, the writer gets them all."""
    lo, hi = ex.test_rows(size)
    part = predict(parts.model, loader, size, batch_size, ex.device, parts.autocast, start=lo, stop=hi)
    return ex.gather_rows(part)


def write_results(plan: Plan, bundle: DatasetBundle, scores: torch.Tensor, train_seconds: float, device: str,
                  probe_info: dict[str, Any] | None, world: int) -> dict[str, Any]:
    """`scores.npz`, then `result.json` (last: a folder without it is unfinished); the record."""
    cfg = plan.config.train
    rule = GroupRule(cfg.head_min, cfg.tail_below)
    report = group_report(scores, bundle.test.labels, bundle.train.class_counts, rule)
    labels = np.asarray(bundle.test.labels) != 0
    buffer = io.BytesIO()
    np.savez_compressed(buffer, ids=np.asarray(bundle.test.ids), scores=scores.numpy().astype(np.float32),
                        class_names=np.asarray(bundle.class_names), labels=labels.astype(np.uint8))
    atomic_write_bytes(plan.run_dir / "scores.npz", buffer.getvalue())
    record = build_record(plan.spec, bundle, plan.config, report, rule, train_seconds, device)
    if cfg.bootstrap_resamples > 0:
        settings = BootstrapSettings(cfg.bootstrap_resamples, cfg.ci_level)
        record["intervals"] = run_intervals(scores.numpy().astype(np.float32), labels, report.groups, settings)
    if probe_info is not None:
        record["probe"] = probe_info
    record.update(plan.record_extra)
    if world > 1:
        record["world_size"] = world
    write_json(plan.run_dir / RESULT_FILE, record)
    return record
