"""Pretraining a backbone on a registered dataset (`ltml-bench pretrain`), the stand-in for
"ImageNet weights" that the embedded benchmark fine-tunes.

The network is the timm backbone (global-average pooled, from scratch) followed by one
Linear(num_features, C) classifier; no neck, no dropout. The objective is chosen from the data
(`objective=auto`): when every training image carries exactly one label (synth_world, ImageNet's
role) it is softmax cross-entropy on that label, and the score is top-1 test accuracy; otherwise
it is the per-class binary cross-entropy of the benchmark (mean over B x C), scored by test mAP.
`objective=ce` or `bce` forces one (`ce` needs single-label data).

The schedule is the harness's (`TrainConfig`, from the dataset's recipe, then `--set`): SGD with
momentum and weight decay, linear warm-up, x0.1 steps, gradient clipping; the epoch order and the
augmentation are functions of (seed, epoch). On CPU with a fixed thread count a run is
deterministic, and a run resumed from its checkpoint (`OUT.ckpt`, saved after every epoch, read
with `torch.load(weights_only=True)`) ends with the same weights as an uninterrupted one.

The result is the backbone's state_dict as safetensors at `OUT` (no classifier) and a provenance
JSON beside it (`OUT` with suffix .json): the command, dataset and options, backbone, seed, thread
count, schedule, objective, test score, training seconds, library versions and the file's sha256.
"""

from __future__ import annotations

import dataclasses
import io
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch
from torch import nn

from ltml_bench.config import TRAIN_FIELDS, TrainConfig, config_hash, parse_value, to_jsonable, unknown_key_error
from ltml_bench.data.interface import DatasetBundle, load_batch
from ltml_bench.errors import ConfigError, UserError
from ltml_bench.registry import DatasetSpec
from ltml_bench.storage.files import atomic_write_bytes, write_json
from ltml_bench.training.devices import seed_everything
from ltml_bench.training.model import create_backbone
from ltml_bench.training.samplers import shuffled_order
from ltml_bench.training.schedule import augmentation_generator, batches, lr_at
from ltml_bench.training.weights import save_backbone

OBJECTIVES = ("auto", "ce", "bce")
# the harness keys that mean something for pretraining (the rest of TrainConfig is fine-tuning only)
PRETRAIN_TRAIN_KEYS = ("backbone", "epochs", "lr_steps", "lr", "momentum", "weight_decay", "batch_size", "warmup_iters",
                       "warmup_ratio", "grad_clip", "eval_batch_size")


@dataclass
class PretrainJob:
    dataset: DatasetSpec
    out: Path
    seed: int = 0
    backbone: str | None = None
    epochs: int | None = None
    threads: int | None = None
    settings: Mapping[str, Any] = field(default_factory=dict)  # --set KEY=VALUE (strings or typed)
    command: str = ""  # the command line, for the provenance file
    resume: bool = False


@dataclass
class PretrainPlan:
    train: TrainConfig
    dataset_options: dict[str, Any]
    objective: str


def resolve(job: PretrainJob) -> PretrainPlan:
    """The dataset's recipe < --backbone / --epochs < --set (harness keys, dataset options, objective)."""
    values = {k: v for k, v in job.dataset.recipe.items() if k in PRETRAIN_TRAIN_KEYS}
    if job.backbone:
        values["backbone"] = job.backbone
    if job.epochs is not None:
        values["epochs"] = int(job.epochs)
    options = dict(job.dataset.options)
    objective = "auto"
    base = TrainConfig()
    for key, raw in job.settings.items():
        if key == "objective":
            objective = str(raw)
        elif key in options:
            options[key] = parse_value(key, raw, options[key]) if isinstance(raw, str) else raw
        elif key in PRETRAIN_TRAIN_KEYS:
            values[key] = parse_value(key, raw, getattr(base, key)) if isinstance(raw, str) else raw
        else:
            raise unknown_key_error(key, [*PRETRAIN_TRAIN_KEYS, *options, "objective"], f"pretrain on {job.dataset.name!r}")
    if objective not in OBJECTIVES:
        raise ConfigError(f"--set objective={objective}: must be auto (from the labels), ce (single-label) or bce (multi-label)")
    train = dataclasses.replace(base, **values)
    train.validate()
    return PretrainPlan(train, options, objective)


class Classifier(nn.Module):
    """backbone (pooled features) -> Linear(num_features, C)."""

    def __init__(self, backbone: nn.Module, num_classes: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(int(getattr(backbone, "num_features")), num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.backbone(x))


def _objective(requested: str, bundle: DatasetBundle) -> str:
    single = bool((bundle.train.labels.sum(axis=1) == 1).all())
    if requested == "ce" and not single:
        raise ConfigError(f"--set objective=ce: {bundle.name} has training images with other than one label; use objective=bce")
    return requested if requested != "auto" else ("ce" if single else "bce")


def _loss(objective: str, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    if objective == "ce":
        return nn.functional.cross_entropy(logits, targets.argmax(dim=1))
    return nn.functional.binary_cross_entropy_with_logits(logits, targets)


def checkpoint_path(out: Path) -> Path:
    return out.with_name(out.name + ".ckpt")


def provenance_path(out: Path) -> Path:
    return out.with_suffix(".json")


def pretrain(job: PretrainJob, progress: Callable[[str, int, int], None] | None = None,
             log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Train, write the weights and the provenance; returns the provenance."""
    if job.out.suffix != ".safetensors":
        raise UserError(f"--out {job.out}: the weights file must end in .safetensors")
    plan = resolve(job)
    if job.threads is not None:
        if job.threads < 1:
            raise UserError(f"--threads {job.threads}: must be >= 1")
        torch.set_num_threads(job.threads)
    device = torch.device("cpu")
    seed_everything(job.seed, device)
    bundle = job.dataset.build(**plan.dataset_options)
    objective = _objective(plan.objective, bundle)
    model = Classifier(create_backbone(plan.train.backbone, False), bundle.num_classes)
    cfg = plan.train
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    key = config_hash({"dataset": bundle.name, "options": plan.dataset_options, "train": to_jsonable(cfg), "objective": objective, "seed": job.seed})
    state = _restore(job, key, model, optimizer, log)
    started = time.perf_counter() - state["seconds"]
    for epoch in range(state["epoch"], cfg.epochs):
        loss = _train_epoch(model, optimizer, bundle, cfg, objective, job.seed, epoch, state, progress)
        state["epoch"], state["seconds"] = epoch + 1, time.perf_counter() - started
        _save_checkpoint(job.out, key, model, optimizer, state)
        log(f"epoch {epoch + 1}/{cfg.epochs} loss {loss:.4f} lr {lr_at(cfg, epoch, state['iteration']):.5f} elapsed {state['seconds']:.1f}s")
    score = evaluate(model, bundle, objective, cfg.eval_batch_size)
    log(f"test {score['name']}: {score['value']:.2f}")
    digest = save_backbone(model.backbone.state_dict(), job.out)
    record = _provenance(job, plan, bundle, objective, score, state, digest)
    write_json(provenance_path(job.out), record)
    checkpoint_path(job.out).unlink(missing_ok=True)
    return record


def _train_epoch(model: Classifier, optimizer: torch.optim.Optimizer, bundle: DatasetBundle, cfg: TrainConfig, objective: str,
                 seed: int, epoch: int, state: dict[str, Any], progress: Callable[[str, int, int], None] | None) -> float:
    model.train()
    plan_batches = batches(shuffled_order(len(bundle.train), seed, epoch), cfg.batch_size)
    generator = augmentation_generator(seed, epoch)
    total = 0.0
    for step, idx in enumerate(plan_batches):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(cfg, epoch, state["iteration"])
        x, y = load_batch(bundle.train.dataset, idx, train=True, generator=generator)
        loss = _loss(objective, model(x), y)
        if not torch.isfinite(loss):
            raise UserError(f"pretrain: loss is {loss.item()} at epoch {epoch + 1}, step {step + 1}; lower the learning rate (--set lr=...)")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        optimizer.step()
        total += float(loss.detach())
        state["iteration"] += 1
        if progress:
            progress("pretrain", epoch * len(plan_batches) + step + 1, cfg.epochs * len(plan_batches))
    return total / max(1, len(plan_batches))


@torch.no_grad()
def evaluate(model: Classifier, bundle: DatasetBundle, objective: str, batch_size: int) -> dict[str, Any]:
    """Top-1 test accuracy (%) for `ce`, test mAP (%) for `bce`."""
    model.eval()
    n = len(bundle.test)
    scores = torch.cat([model(load_batch(bundle.test.dataset, np.arange(i, min(n, i + batch_size)), train=False)[0])
                        for i in range(0, n, batch_size)]) if n else torch.zeros((0, bundle.num_classes))
    labels = bundle.test.labels
    if objective == "ce":
        correct = labels[np.arange(n), scores.argmax(dim=1).numpy()] == 1
        return {"name": "top1_accuracy", "value": float(100.0 * correct.mean()) if n else float("nan"), "test_images": n}
    from ltml_bench.metrics.ap import average_precision

    ap = np.asarray(average_precision(scores.numpy(), labels), dtype=np.float64)
    return {"name": "map", "value": float(100.0 * np.nanmean(ap)), "test_images": n}


def _restore(job: PretrainJob, key: str, model: nn.Module, optimizer: torch.optim.Optimizer, log: Callable[[str], None]) -> dict[str, Any]:
    path = checkpoint_path(job.out)
    fresh: dict[str, Any] = {"epoch": 0, "iteration": 0, "seconds": 0.0}
    if not job.resume:
        if path.exists():
            log(f"starting over: the checkpoint {path} is discarded (--resume continues it)")
            path.unlink()
        return fresh
    if not path.exists():
        log(f"--resume: no checkpoint {path}; starting from epoch 1")
        return fresh
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"--resume: checkpoint {path} is unreadable ({type(exc).__name__}); delete it to start over") from exc
    if not isinstance(saved, dict) or saved.get("key") != key:
        raise UserError(f"--resume: checkpoint {path} was written with other options; delete it or resume with the original command")
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    torch.set_rng_state(saved["torch_rng"])
    log(f"resumed from {path} after epoch {int(saved['epoch'])}")
    return {"epoch": int(saved["epoch"]), "iteration": int(saved["iteration"]), "seconds": float(saved["seconds"])}


def _save_checkpoint(out: Path, key: str, model: nn.Module, optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    buffer = io.BytesIO()
    torch.save({"key": key, "model": model.state_dict(), "optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state(),
                "epoch": state["epoch"], "iteration": state["iteration"], "seconds": state["seconds"]}, buffer)
    atomic_write_bytes(checkpoint_path(out), buffer.getvalue())


def _versions() -> dict[str, str]:
    import safetensors
    import timm

    from ltml_bench._version import __version__

    return {"ltml_bench": __version__, "torch": torch.__version__, "timm": timm.__version__, "numpy": np.__version__,
            "safetensors": safetensors.__version__, "python": platform.python_version()}


def _provenance(job: PretrainJob, plan: PretrainPlan, bundle: DatasetBundle, objective: str, score: dict[str, Any],
                state: dict[str, Any], digest: str) -> dict[str, Any]:
    return {
        "weights": job.out.name,
        "sha256": digest,
        "format": "safetensors: the backbone's state_dict without classifier (timm.create_model(backbone, num_classes=0))",
        "command": job.command,
        "dataset": bundle.name,
        "dataset_options": to_jsonable(plan.dataset_options),
        "dataset_info": to_jsonable(bundle.info),
        "train_images": len(bundle.train),
        "test_images": len(bundle.test),
        "num_classes": bundle.num_classes,
        "backbone": plan.train.backbone,
        "seed": job.seed,
        "threads": torch.get_num_threads(),
        "objective": objective,
        "schedule": {k: to_jsonable(getattr(plan.train, k)) for k in PRETRAIN_TRAIN_KEYS if k in TRAIN_FIELDS},
        "iterations": state["iteration"],
        "train_seconds": round(state["seconds"], 1),
        "test_score": score,
        "versions": _versions(),
    }
