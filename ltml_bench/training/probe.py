"""The linear-probe protocol (`--protocol probe`): heads trained on cached backbone features.

Beside the published fine-tuning protocol, a cheap track that ranks the methods' heads, losses
and samplers on a FROZEN backbone: every image of the training and test splits goes once through
the backbone (eval mode, the test transform: resize + normalise, no augmentation; bf16 autocast
on CUDA as in training), its pooled feature [D] is cached, and each run then trains the method's
neck + head (+ loss, sampler, schedule: the dataset's recipe, unchanged) on those features. The
backbone forward, the costly part, happens once per (backbone, weights, dataset, split), so a
whole table of methods x seeds trains in minutes on a CPU.

Features are cached under `$LTML_BENCH_CACHE/features/` in one `.npz` per split, keyed by the
backbone name, pretrained flag, weights file (path, size, mtime), timm version, the split's role,
ids, and a hash of its first images' tensors (so changed images or options give new features).
A backbone trained from scratch (`pretrained=false`) is random: its features depend on the run's
seed, which is then part of the key (a random-feature probe is a baseline, not a result).

Records of this protocol carry `config.train.protocol = "probe"` (variant `protocol=probe`) and a
`probe` entry (feature size, cache files, extraction time); the reporter keeps them in their own
leaderboard track, never ranked against fine-tuning or beside the published numbers.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from ltml_bench.data.interface import DatasetBundle, Split, load_batch
from ltml_bench.errors import UserError, setting
from ltml_bench.storage.cache import cache_dir
from ltml_bench.storage.files import CACHE_HINT, atomic_write_bytes
from ltml_bench.storage.locks import file_lock
from ltml_bench.training.execution import SingleProcess
from ltml_bench.training.inputs import prepare_images
from ltml_bench.training.model import create_backbone


class FeatureInput(nn.Module):
    """The probe model's "backbone": the cached features pass through unchanged."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = int(num_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class TensorFeatures:
    """A split's cached features [N, D] with `get_batch` (no augmentation: the probe protocol)."""

    def __init__(self, features: np.ndarray, labels: np.ndarray) -> None:
        self.features = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
        self.targets = torch.as_tensor(np.asarray(labels), dtype=torch.float32)

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.features[index], self.targets[index]

    def get_batch(self, indices: Sequence[int] | Any, train: bool, generator: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        return self.features[idx], self.targets[idx]


def file_identity(path: str) -> str:
    """"path:size:mtime" of a weights file ("" for none): a changed file means new features."""
    if not path:
        return ""
    from ltml_bench.training.weights import resolve_weights, shipped

    if shipped(path) is not None:  # shipped weights: their name and pinned digest
        return f"{path}:{resolve_weights(path)[1]}"
    st = os.stat(path)
    return f"{os.path.abspath(path)}:{st.st_size}:{st.st_mtime_ns}"


def _images(dataset: Any, indices: np.ndarray) -> torch.Tensor:
    """The images of `indices` with the test transform (no augmentation)."""
    return load_batch(dataset, indices, train=False, generator=torch.Generator().manual_seed(0))[0]


def split_key(base: dict[str, Any], role: str, split: Split) -> str:
    """The cache key of one split's features (see the module docstring)."""
    probe = _images(split.dataset, np.arange(min(2, len(split)))).float().cpu().numpy() if len(split) else np.zeros(0)
    payload = {**base, "role": role, "ids": hashlib.sha256("\n".join(split.ids).encode()).hexdigest(),
               "first_images": hashlib.sha256(np.round(probe, 4).tobytes()).hexdigest()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


@torch.no_grad()
def extract(backbone: nn.Module, dataset: Any, n: int, batch_size: int, device: torch.device,
            progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """Pooled backbone features [n, D] (float32) of the split's images, test transform, eval mode."""
    backbone.eval()
    use_amp = device.type == "cuda"
    rows = []
    for start in range(0, n, batch_size):
        idx = np.arange(start, min(n, start + batch_size))
        x = _images(dataset, idx).to(device, non_blocking=True)
        if device.type == "cuda" and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            rows.append(backbone(x).float().cpu())
        if progress is not None:
            progress(int(idx[-1]) + 1, n)
    return torch.cat(rows).numpy() if rows else np.zeros((0, int(getattr(backbone, "num_features", 0))), np.float32)


def feature_bundle(bundle: DatasetBundle, make_backbone: Callable[[], nn.Module], backbone_identity: dict[str, Any],
                   device: torch.device, batch_size: int, log: Callable[[str], None] = lambda line: None,
                   progress: Callable[[str, int, int], None] | None = None, root: Path | None = None) -> tuple[DatasetBundle, dict[str, Any]]:
    """`bundle` with its images replaced by cached backbone features, and a description for the
    record. The backbone is built (`make_backbone()`) only when a split's features are missing."""
    import timm

    folder = root or cache_dir() / "features"
    base = {**backbone_identity, "timm": timm.__version__, "dataset": bundle.name}
    info: dict[str, Any] = {"backbone": backbone_identity.get("backbone"), "cache": {}, "extracted": [], "extract_seconds": 0.0}
    splits = {}
    backbone: nn.Module | None = None
    for role, split in (("train", bundle.train), ("test", bundle.test)):
        path = folder / f"{bundle.name}-{role}-{split_key(base, role, split)}.npz"
        features = _load(path, len(split))
        if features is None:  # parallel jobs extract once: the others wait for the lock, then read the file
            with file_lock(path.with_name(f".{path.stem}.lock")):
                features = _load(path, len(split))
                if features is None:
                    if backbone is None:
                        backbone = make_backbone().to(device)
                        if device.type == "cuda":
                            backbone = backbone.to(memory_format=torch.channels_last)
                    features = _extract_and_save(backbone, split, role, path, backbone_identity, device, batch_size, log, progress, info)
        info["cache"][role] = str(path)
        splits[role] = Split(list(split.ids), split.labels, TensorFeatures(features, split.labels))
    dims = {int(s.dataset.features.shape[1]) for s in splits.values() if len(s)}
    if len(dims) != 1:
        raise ValueError(f"cached train and test features differ in size ({sorted(dims)}); delete {folder} and run again")
    info["feature_dim"] = dims.pop()
    probe = DatasetBundle(bundle.name, list(bundle.class_names), splits["train"], splits["test"], dict(bundle.info))
    return probe, info


def _extract_and_save(backbone: nn.Module, split: Split, role: str, path: Path, backbone_identity: dict[str, Any],
                      device: torch.device, batch_size: int, log: Callable[[str], None],
                      progress: Callable[[str, int, int], None] | None, info: dict[str, Any]) -> np.ndarray:
    log(f"probe: extracting the {role} features of {len(split)} images with {backbone_identity.get('backbone')} (cached for later runs)")
    started = time.perf_counter()
    report = (lambda done, total, phase=f"features {role}": progress(phase, done, total)) if progress else None
    features = extract(backbone, split.dataset, len(split), batch_size, device, report)
    info["extract_seconds"] = round(info["extract_seconds"] + time.perf_counter() - started, 3)
    info["extracted"].append(role)
    buffer = io.BytesIO()
    np.savez(buffer, features=features.astype(np.float32), ids=np.asarray(split.ids))
    atomic_write_bytes(path, buffer.getvalue(), hint=CACHE_HINT)
    return features


def _load(path: Path, n: int) -> np.ndarray | None:
    """Cached features with `n` finite rows, else None (a corrupt or partial file is never trusted)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            features = data["features"]
    except Exception as exc:  # reading an .npz member checks its zip CRC-32: flipped bytes end here
        warnings.warn(f"feature cache {path} is damaged ({type(exc).__name__}: {exc}); extracting the features again", stacklevel=2)
        path.unlink(missing_ok=True)
        return None
    if features.ndim != 2 or features.shape[0] != n or not np.isfinite(features).all():
        warnings.warn(f"feature cache {path} holds {features.shape} features (expected {n} finite rows); extracting them again", stacklevel=2)
        path.unlink(missing_ok=True)
        return None
    return features.astype(np.float32, copy=False)


def as_probe_bundle(bundle: DatasetBundle, config: Any, device: torch.device, execution: SingleProcess,
                    progress: Callable[[str, int, int], None] | None, log: Callable[[str], None]) -> tuple[DatasetBundle, dict[str, Any]]:
    """The probe protocol as a transformation of the dataset, before the loop: the bundle of cached
    features (extracted on first use) that replaces the images, and the record's `probe` entry."""
    cfg = config.train
    if execution.distributed:
        raise UserError(f"{setting('protocol', 'probe')} trains heads on cached features, which needs no second process: run it without torchrun")
    prepare_images(bundle, device, execution, progress, log)
    pretrained = cfg.pretrained or bool(cfg.weights_file)
    identity = {"backbone": cfg.backbone, "pretrained": pretrained, "weights_file": file_identity(cfg.weights_file),
                "seed": None if pretrained else config.seed}  # a random backbone depends on the seed

    def make_backbone() -> nn.Module:
        torch.manual_seed(config.seed)  # a random backbone: the same one for this seed, cached or not
        return create_backbone(cfg.backbone, cfg.pretrained and not cfg.weights_file, cfg.weights_file)

    features, info = feature_bundle(bundle, make_backbone, identity, device, cfg.eval_batch_size, log, progress)
    torch.manual_seed(config.seed)  # the head's initialisation does not depend on whether features were cached
    return features, info
