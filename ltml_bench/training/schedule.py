"""The recipe's schedule: learning rate per step, image order per epoch, and its batches."""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ltml_bench.config import TrainConfig
from ltml_bench.errors import setting
from ltml_bench.training.samplers import class_aware_order, shuffled_order


def lr_at(cfg: TrainConfig, epoch: int, iteration: int) -> float:
    """Step decay (x0.1 at each of `lr_steps`, counted in epochs) times linear warm-up."""
    lr = cfg.lr * (0.1 ** sum(1 for step in cfg.lr_steps if epoch >= step))
    if cfg.warmup_iters > 0 and iteration < cfg.warmup_iters:
        ratio = cfg.warmup_ratio + (1.0 - cfg.warmup_ratio) * iteration / cfg.warmup_iters
        lr *= ratio
    return lr


def epoch_indices(cfg: TrainConfig, labels: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    """The epoch's image order: class-aware re-sampling or a shuffle, a function of (seed, epoch)."""
    if cfg.sampler == "class_aware":
        return class_aware_order(labels, seed, epoch, cfg.images_per_draw, cfg.epoch_reduce)
    return shuffled_order(labels.shape[0], seed, epoch)


def batches(indices: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Consecutive batches; a last batch of a single image is dropped (BatchNorm needs two)."""
    out = [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]
    if out and len(out[-1]) < 2:
        out.pop()
    return out


def augmentation_generator(seed: int, epoch: int) -> torch.Generator:
    """The random stream of the epoch's augmentation: a function of (seed, epoch), so a resumed run
    draws what an uninterrupted one draws."""
    return torch.Generator().manual_seed(int(np.random.default_rng([seed, epoch, 7]).integers(2**62)))


MIN_EPOCH_BATCHES = 10  # fewer batches per epoch: per-epoch steps and checkpoints are coarse, BatchNorm statistics noisy


class RecipeWarning(UserWarning):
    """A run that will train, but not as the user probably expects (the message names the fix)."""


def recipe_warnings(cfg: TrainConfig, steps_per_epoch: int, train_images: int) -> list[str]:
    """One line per problem of this recipe on this training set: a warm-up longer than the whole
    training, an epoch of fewer than `MIN_EPOCH_BATCHES` batches, a random backbone kept frozen."""
    lines = []
    total = steps_per_epoch * cfg.epochs
    if cfg.warmup_iters > total:
        fix = max(1, total // 10)
        lines.append(f"the learning-rate warm-up ({cfg.warmup_iters} iterations) is longer than the whole training "
                     f"({total} iterations: {cfg.epochs} epoch(s) x {steps_per_epoch} batches), so the learning rate never "
                     f"reaches lr={cfg.lr:g}; use {setting('warmup_iters', fix)} (a tenth of the training)")
    if 0 < steps_per_epoch < MIN_EPOCH_BATCHES and train_images >= 2 * MIN_EPOCH_BATCHES:
        fix = max(2, train_images // MIN_EPOCH_BATCHES)
        lines.append(f"an epoch has only {steps_per_epoch} batch(es) of {cfg.batch_size} ({train_images} training images), "
                     f"fewer than {MIN_EPOCH_BATCHES}: lr steps and checkpoints are coarse and BatchNorm statistics noisy; "
                     f"use {setting('batch_size', fix)} or more images")
    if not cfg.pretrained and not cfg.weights_file and cfg.protocol == "finetune" and (cfg.freeze_prefixes or cfg.frozen_bn):
        frozen = ", ".join([*(f"{p}*" for p in cfg.freeze_prefixes), *(["BatchNorm statistics"] if cfg.frozen_bn else [])])
        fixes = [*([setting("freeze_prefixes", "none")] if cfg.freeze_prefixes else []), *([setting("frozen_bn", False)] if cfg.frozen_bn else [])]
        lines.append(f"the backbone trains from scratch but the recipe freezes {frozen}, so those stay random; "
                     f"use {' and '.join(fixes)} (or pretrained weights)")
    return lines


def warn_about_recipe(cfg: TrainConfig, steps_per_epoch: int, train_images: int) -> None:
    """`recipe_warnings` as Python warnings (the command line prints each as one `warning:` line)."""
    for line in recipe_warnings(cfg, steps_per_epoch, train_images):
        warnings.warn(line, RecipeWarning, stacklevel=3)
