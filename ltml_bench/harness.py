"""The one training harness every method runs through.

`train_and_evaluate(plan)` builds the model (timm backbone + neck + the method's head), the
method's loss and epoch order, trains with SGD (linear warm-up, step decay, gradient clipping,
bf16 autocast on CUDA), checkpoints after every epoch, evaluates on the test split and writes the
result record. On CPU a seeded run is deterministic, and a run resumed from its last checkpoint
ends with exactly the metrics of an uninterrupted one: the epoch order is a function of
(seed, epoch), and the checkpoint carries the model, optimiser and torch RNG state.
"""

from __future__ import annotations

import io
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.utils.deterministic  # noqa: F401  (seed_everything sets one of its flags)
from torch import nn

from ltml_bench import distributed
from ltml_bench.config import RunConfig, TrainConfig, to_jsonable
from ltml_bench.data import DatasetBundle, atomic_write_bytes, load_batch
from ltml_bench.errors import ConfigError, TrainingDiverged, UserError
from ltml_bench.metrics import GroupRule, group_report
from ltml_bench.model import LTMLModel, build_model
from ltml_bench.probe import FeatureInput
from ltml_bench.registry import MethodSpec, import_object
from ltml_bench.results import RECORD_VERSION, RESULT_FILE, environment, write_json
from ltml_bench.samplers import class_aware_order, shuffled_order

CHECKPOINT = "checkpoint.pt"
FINITE_CHECK_EVERY = 50  # on CUDA the loss is checked for NaN/inf every this many steps (no host sync per step)


@dataclass
class Plan:
    """Everything the harness needs for one run."""

    spec: MethodSpec
    bundle: DatasetBundle
    config: RunConfig
    run_dir: Path
    resume: bool = False
    progress: Callable[[str, int, int], None] | None = None  # (phase, done, total)
    log: Callable[[str], None] = field(default=lambda line: None)
    record_extra: dict[str, Any] = field(default_factory=dict)  # merged into the result record


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise UserError(f"--device {name!r}: not a device name (use auto, cpu, cuda or cuda:N)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {name!r}: CUDA is not available on this machine; use --device cpu")
    return device


def seed_everything(seed: int, device: torch.device) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
        # deterministic mode also fills every new uninitialised tensor with NaN (a debugging aid that
        # changes no result); that costs ~8% of a small model's CPU step, so it is switched off
        torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]


def lr_at(cfg: TrainConfig, epoch: int, iteration: int) -> float:
    """Step decay (x0.1 at each of `lr_steps`, counted in epochs) times linear warm-up."""
    lr = cfg.lr * (0.1 ** sum(1 for step in cfg.lr_steps if epoch >= step))
    if cfg.warmup_iters > 0 and iteration < cfg.warmup_iters:
        ratio = cfg.warmup_ratio + (1.0 - cfg.warmup_ratio) * iteration / cfg.warmup_iters
        lr *= ratio
    return lr


def epoch_indices(cfg: TrainConfig, labels: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    if cfg.sampler == "class_aware":
        return class_aware_order(labels, seed, epoch, cfg.images_per_draw, cfg.epoch_reduce)
    return shuffled_order(labels.shape[0], seed, epoch)


def batches(indices: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Consecutive batches; a last batch of a single image is dropped (BatchNorm needs two)."""
    out = [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]
    if out and len(out[-1]) < 2:
        out.pop()
    return out


class _Loader:
    """Batches from an in-memory `TensorImages` (fast path) or any map-style Dataset."""

    def __init__(self, dataset: Any, num_workers: int) -> None:
        self.dataset = dataset
        self.num_workers = num_workers

    def batch(self, indices: np.ndarray, train: bool, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return load_batch(self.dataset, indices, train, generator)

    def iterate(self, index_batches: list[np.ndarray], train: bool, generator: torch.Generator):
        if hasattr(self.dataset, "get_batch") or self.num_workers == 0:
            for idx in index_batches:
                yield self.batch(idx, train, generator)
            return
        loader = torch.utils.data.DataLoader(
            self.dataset, batch_sampler=[list(map(int, b)) for b in index_batches], num_workers=self.num_workers,
            persistent_workers=False,
        )
        for x, y in loader:
            yield x, y.float()


def make_loss(spec: MethodSpec, class_counts: np.ndarray, num_samples: int, params: dict[str, Any]) -> nn.Module:
    """The method's loss: an import string "module:Class", or a key of `ltml_bench.losses`."""
    try:
        if ":" in spec.loss:
            return import_object(spec.loss)(class_counts, num_samples, **params)
        from ltml_bench.losses import create_loss

        return create_loss(spec.loss, class_counts, num_samples, **params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"method {spec.name!r}: bad loss hyper-parameters ({exc})") from exc


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def prepare_images(bundle: DatasetBundle, device: torch.device, dist_info: distributed.DistInfo,
                   progress: Callable[[str, int, int], None] | None = None, log: Callable[[str], None] = lambda line: None) -> None:
    """Open (building on first use) the decoded image stores of datasets that have one
    (`imagestore.StoredImages`), and move their pixels to the training device when they fit.
    In a distributed run rank 0 builds first; the other ranks then open the finished store."""
    for role, split in (("train", bundle.train), ("test", bundle.test)):
        dataset = split.dataset
        if not hasattr(dataset, "prepare"):
            continue
        report = (lambda done, total, phase=f"decode {role} images": progress(phase, done, total)) if progress else None
        if dist_info.main and getattr(dataset, "needs_build", lambda: False)():
            log(f"decoding the {len(dataset)} {role} images once into the image store (cached for later runs)")
        if dist_info.enabled and not dist_info.main:
            distributed.barrier()
            dataset.prepare()
        else:
            dataset.prepare(report)
            if dist_info.enabled:
                distributed.barrier()
        if hasattr(dataset, "to"):
            dataset.to(device)


def _probe_bundle(plan: Plan, device: torch.device, dist_info: distributed.DistInfo,
                  log: Callable[[str], None]) -> tuple[DatasetBundle, dict[str, Any]]:
    """The probe protocol's bundle of cached features (extracted on first use) and its record entry."""
    from ltml_bench.model import create_backbone
    from ltml_bench.probe import feature_bundle, file_identity

    cfg = plan.config.train
    if dist_info.enabled:
        raise UserError("--protocol probe trains heads on cached features, which needs no second process: run it without torchrun")
    prepare_images(plan.bundle, device, dist_info, plan.progress, log)
    pretrained = cfg.pretrained or bool(cfg.weights_file)
    identity = {"backbone": cfg.backbone, "pretrained": pretrained, "weights_file": file_identity(cfg.weights_file),
                "seed": None if pretrained else plan.config.seed}  # a random backbone depends on the seed

    def make_backbone() -> nn.Module:
        torch.manual_seed(plan.config.seed)  # a random backbone: the same one for this seed, cached or not
        return create_backbone(cfg.backbone, cfg.pretrained and not cfg.weights_file, cfg.weights_file)

    bundle, info = feature_bundle(plan.bundle, make_backbone, identity, device, cfg.eval_batch_size, log, plan.progress)
    torch.manual_seed(plan.config.seed)  # the head's initialisation does not depend on whether features were cached
    return bundle, info


def _check_head(model: LTMLModel, bundle: DatasetBundle, loader: _Loader, device: torch.device, method: str) -> None:
    """Catch a head that returns the wrong shape before any training step."""
    model.eval()
    x, _ = loader.batch(np.arange(min(2, len(bundle.train))), train=False, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model(x.to(device))
    expected = (x.shape[0], bundle.num_classes)
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expected:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise UserError(
            f"method {method!r}: its head returned {got} in eval mode, expected logits of shape {expected} "
            f"({bundle.num_classes} classes of {bundle.name}); fix the head's forward"
        )


def train_and_evaluate(plan: Plan) -> dict[str, Any]:
    device = resolve_device(plan.config.train.device)
    dist_info, device = distributed.setup(device)  # torchrun: WORLD_SIZE > 1
    try:
        record = _train_and_evaluate(plan, device, dist_info)
    except BaseException:
        distributed.teardown(dist_info, barrier=False)  # the other ranks may be stuck in a collective
        raise
    distributed.teardown(dist_info)
    return record


def _train_and_evaluate(plan: Plan, device: torch.device, dist_info: distributed.DistInfo) -> dict[str, Any]:
    cfg = plan.config.train
    spec = plan.spec
    bundle = plan.bundle
    main = dist_info.main
    log = plan.log if main else (lambda line: None)
    seed = plan.config.seed
    seed_everything(seed, device)

    probe_info: dict[str, Any] | None = None
    if cfg.protocol == "probe":  # replace the images by cached frozen-backbone features
        bundle, probe_info = _probe_bundle(plan, device, dist_info, log)

    counts = bundle.train.class_counts
    labels = bundle.train.labels
    num_train = len(bundle.train)
    head_cls = import_object(spec.head) if spec.head else None
    criterion = make_loss(spec, counts, num_train, plan.config.loss_params)
    probe_input = None if probe_info is None else FeatureInput(probe_info["feature_dim"])
    model = build_model(
        cfg.backbone, cfg.pretrained and not cfg.weights_file, bundle.num_classes, counts, head_cls,
        dict(plan.config.head_params), cfg.neck_dim, cfg.dropout,
        cfg.freeze_prefixes if probe_input is None else (), cfg.frozen_bn and probe_input is None, cfg.weights_file,
        train_labels=labels, class_names=list(bundle.class_names),
        strict_freeze="freeze_prefixes" in plan.config.overrides, warn=log, backbone=probe_input,
    )
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    criterion.to(device)
    prepare_images(bundle, device, dist_info, plan.progress, log)
    train_loader = _Loader(bundle.train.dataset, cfg.num_workers)
    test_loader = _Loader(bundle.test.dataset, cfg.num_workers)
    _check_head(model, bundle, train_loader, device, spec.name)

    params = [p for p in model.parameters() if p.requires_grad] + [p for p in criterion.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    use_amp = cfg.amp and device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_amp else nullcontext

    plan.run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = plan.run_dir / CHECKPOINT
    start_epoch, iteration = 0, 0
    identity = plan.config.key()
    if plan.resume and ckpt_path.exists():
        try:
            state = torch.load(ckpt_path, map_location=device, weights_only=False)
        except Exception as exc:
            raise UserError(f"--resume: checkpoint {ckpt_path} is unreadable ({type(exc).__name__}); delete it to start over") from exc
        if state.get("config_key") != identity:
            raise UserError(f"--resume: checkpoint {ckpt_path} was written by another configuration; delete it or resume with the original options")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if state.get("criterion"):
            criterion.load_state_dict(state["criterion"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"].cpu())
        start_epoch, iteration = int(state["epoch"]), int(state["iteration"])
        seconds_before = float(state.get("train_seconds", 0.0))
        log(f"resumed from {ckpt_path} after epoch {start_epoch}")
    else:
        if plan.resume:
            log(f"--resume: no checkpoint in {plan.run_dir}; starting from epoch 1")
        elif ckpt_path.exists():
            log(f"starting over: the checkpoint in {plan.run_dir} is discarded (--resume continues a run)")
        if main:
            ckpt_path.unlink(missing_ok=True)
        seconds_before = 0.0

    # log.txt holds one line per checkpointed epoch: drop lines of epochs an interrupted run did not checkpoint
    log_path = plan.run_dir / "log.txt"
    if main:  # only rank 0 of a distributed run touches files
        old_lines = log_path.read_text().splitlines(keepends=True)[:start_epoch] if log_path.exists() else []
        atomic_write_bytes(log_path, "".join(old_lines).encode())
        for stale in plan.run_dir.glob(".*.tmp"):  # temporary files of a run killed while writing
            stale.unlink(missing_ok=True)
    train_model: nn.Module = model
    if dist_info.enabled:
        from torch.nn.parallel import DistributedDataParallel

        train_model = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile:
        train_model = torch.compile(train_model)
    in_memory = hasattr(bundle.train.dataset, "get_batch")
    criterion_params = [p for p in criterion.parameters() if p.requires_grad]
    started = time.perf_counter() - seconds_before
    for epoch in range(start_epoch, cfg.epochs):
        for hook_owner in (criterion, model.head):
            if hasattr(hook_owner, "set_epoch"):
                hook_owner.set_epoch(epoch)
        model.train()
        order = epoch_indices(cfg, labels, seed, epoch)
        index_batches = batches(order, cfg.batch_size)
        load_batches = index_batches
        if dist_info.enabled:
            # every rank needs >= 2 images of each global batch (BatchNorm); each takes a consecutive share
            index_batches = [b for b in index_batches if len(b) >= 2 * dist_info.world]
            load_batches = index_batches if in_memory else [
                b[slice(*distributed.shard_bounds(len(b), dist_info.rank, dist_info.world))] for b in index_batches]
        generator = torch.Generator().manual_seed(int(np.random.default_rng([seed, epoch, 7]).integers(2**62)))
        total_loss = torch.zeros((), device=device)
        nonfinite = torch.zeros((), dtype=torch.bool, device=device)
        for step, (x, y) in enumerate(train_loader.iterate(load_batches, train=True, generator=generator)):
            for group in optimizer.param_groups:
                group["lr"] = lr_at(cfg, epoch, iteration)
            share = 1.0
            if dist_info.enabled:
                global_size = len(index_batches[step])
                if in_memory:  # the whole global batch was loaded (same augmentation as one process): keep this rank's share
                    lo, hi = distributed.shard_bounds(global_size, dist_info.rank, dist_info.world)
                    x, y = x[lo:hi], y[lo:hi]
                share = x.shape[0] * dist_info.world / global_size  # DDP averages over ranks: weight unequal shares
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True)
            if device.type == "cuda" and x.ndim == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast():
                out = train_model(x)
            loss = criterion(out, y)
            nonfinite = nonfinite | ~torch.isfinite(loss.detach())
            # CPU: check every step; CUDA: every FINITE_CHECK_EVERY steps and at the epoch's end (no sync per step)
            if device.type == "cpu" or (step + 1) % FINITE_CHECK_EVERY == 0 or step + 1 == len(index_batches):
                flag = nonfinite.to(torch.int32)
                if dist_info.enabled:
                    distributed.all_reduce_(flag, "max")  # every rank stops together
                if flag.item():
                    where = f"step {step + 1}" if device.type == "cpu" else f"by step {step + 1}"
                    raise TrainingDiverged(
                        f"method {spec.name!r}: loss is {loss.item() if bool(~torch.isfinite(loss)) else 'not finite'} at epoch {epoch + 1}, {where}; "
                        f"lower the learning rate (--set lr=...) or check the method's hyper-parameters"
                    )
            optimizer.zero_grad(set_to_none=True)
            (loss * share if share != 1.0 else loss).backward()
            if dist_info.enabled and criterion_params:  # loss parameters live outside DDP: average their gradients
                for p in criterion_params:
                    if p.grad is not None:
                        distributed.all_reduce_(p.grad).div_(dist_info.world)
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            optimizer.step()
            total_loss += loss.detach()
            iteration += 1
            if plan.progress:
                plan.progress("train", epoch * len(index_batches) + step + 1, cfg.epochs * len(index_batches))
        if dist_info.enabled:
            distributed.all_reduce_(total_loss).div_(dist_info.world)
        mean_loss = float(total_loss) / max(1, len(index_batches))
        line = f"epoch {epoch + 1}/{cfg.epochs} loss {mean_loss:.4f} lr {lr_at(cfg, epoch, iteration):.5f} elapsed {time.perf_counter() - started:.1f}s"
        if not main:
            continue
        _save_checkpoint(ckpt_path, {
            "config_key": identity,
            "epoch": epoch + 1,
            "iteration": iteration,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "criterion": criterion.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state() if device.type == "cuda" else None,
            "train_seconds": time.perf_counter() - started,
        })
        with open(log_path, "a") as handle:  # after the checkpoint: a logged epoch is a checkpointed one
            handle.write(line + "\n")
        log(line)
    train_seconds = time.perf_counter() - started

    if dist_info.enabled:  # each rank scores its share of the test set; rank 0 gathers them in order
        lo, hi = distributed.shard_bounds(len(bundle.test), dist_info.rank, dist_info.world)
        part = predict(model, test_loader, len(bundle.test), cfg.eval_batch_size, device, autocast, start=lo, stop=hi)
        scores = distributed.gather_rows(part, dist_info)
        if not main:
            return distributed.broadcast_object(None, dist_info)
    else:
        scores = predict(model, test_loader, len(bundle.test), cfg.eval_batch_size, device, autocast)
    rule = GroupRule(cfg.head_min, cfg.tail_below)
    report = group_report(scores, bundle.test.labels, counts, rule)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, ids=np.asarray(bundle.test.ids), scores=scores.numpy().astype(np.float32), class_names=np.asarray(bundle.class_names))
    atomic_write_bytes(plan.run_dir / "scores.npz", buffer.getvalue())

    record = {
        "record_version": RECORD_VERSION,
        "method": spec.name,
        "method_title": spec.title,
        "dataset": bundle.name,
        "seed": seed,
        "variant": plan.config.variant(),
        "config_key": identity,
        "map": report.map,
        "groups": report.groups,
        "group_rule": report.rule,
        "group_rule_text": rule.describe(),
        "class_names": bundle.class_names,
        "per_class_ap": report.per_class_ap,
        "train_counts": counts.tolist(),
        "test_positive_counts": bundle.test.class_counts.tolist(),
        "classes_without_test_positives": [bundle.class_names[i] for i in report.classes_without_positives],
        "num_train_images": num_train,
        "num_test_images": len(bundle.test),
        "train_seconds": round(train_seconds, 3),
        "config": to_jsonable(plan.config),
        "dataset_info": to_jsonable(bundle.info),
        "env": environment(str(device)),
    }
    if probe_info is not None:
        record["probe"] = probe_info
    record.update(plan.record_extra)
    if dist_info.enabled:
        record["world_size"] = dist_info.world
    write_json(plan.run_dir / RESULT_FILE, record)
    if dist_info.enabled:
        distributed.broadcast_object(record, dist_info)  # every rank returns the same record
    return record


@torch.no_grad()
def predict(model: nn.Module, loader: _Loader, size: int, batch_size: int, device: torch.device, autocast: Any,
            start: int = 0, stop: int | None = None) -> torch.Tensor:
    """Test scores [N, C] (float32 logits, on the CPU) from the clean model in eval mode (rows start:stop)."""
    model.eval()
    stop = size if stop is None else stop
    index_batches = [np.arange(i, min(i + batch_size, stop)) for i in range(start, stop, batch_size)]
    outputs = []
    for x, _ in loader.iterate(index_batches, train=False, generator=torch.Generator().manual_seed(0)):
        x = x.to(device, non_blocking=True)
        if device.type == "cuda" and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast():
            out = model(x)
        outputs.append(out.float())
    if not outputs:
        return torch.zeros((0, 0))
    return torch.cat(outputs).cpu()
