"""The recipe's schedule: learning rate per step, image order per epoch, and its batches."""

from __future__ import annotations

import numpy as np
import torch

from ltml_bench.config import TrainConfig
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
