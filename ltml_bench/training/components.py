"""What one run trains: the model (backbone + neck + the method's head), the method's loss, the
SGD optimiser and the autocast context, built from the run's configuration."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch
from torch import nn

from ltml_bench.config import RunConfig
from ltml_bench.data.interface import DatasetBundle
from ltml_bench.errors import ConfigError, UserError
from ltml_bench.registry import import_object
from ltml_bench.training.inputs import Loader
from ltml_bench.training.model import LTMLModel, build_model

if TYPE_CHECKING:
    from ltml_bench.registry import MethodSpec


def make_loss(spec: MethodSpec, class_counts: np.ndarray, num_samples: int, params: dict[str, Any]) -> nn.Module:
    """The method's loss: an import string "module:Class", or a key of `ltml_bench.losses`."""
    try:
        if ":" in spec.loss:
            return import_object(spec.loss)(class_counts, num_samples, **params)
        from ltml_bench.losses import create_loss

        return create_loss(spec.loss, class_counts, num_samples, **params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"method {spec.name!r}: bad loss hyper-parameters ({exc})") from exc


@dataclass
class Components:
    model: LTMLModel
    criterion: nn.Module
    optimizer: torch.optim.Optimizer
    params: list[nn.Parameter]  # everything the optimiser updates (gradient clipping covers them all)
    criterion_params: list[nn.Parameter]  # trainable loss parameters (outside the wrapped model)
    autocast: Callable[[], Any]


def build_components(spec: MethodSpec, bundle: DatasetBundle, config: RunConfig, device: torch.device,
                     feature_dim: int | None, log: Callable[[str], None]) -> Components:
    """Model, loss and optimiser on `device`. `feature_dim`: the probe protocol's cached feature
    size (the model then reads features: no backbone, nothing frozen)."""
    from ltml_bench.training.probe import FeatureInput

    cfg = config.train
    counts = bundle.train.class_counts
    head_cls = import_object(spec.head) if spec.head else None
    criterion = make_loss(spec, counts, len(bundle.train), config.loss_params)
    probe_input = None if feature_dim is None else FeatureInput(feature_dim)
    model = build_model(
        cfg.backbone, cfg.pretrained and not cfg.weights_file, bundle.num_classes, counts, head_cls,
        dict(config.head_params), cfg.neck_dim, cfg.dropout,
        cfg.freeze_prefixes if probe_input is None else (), cfg.frozen_bn and probe_input is None, cfg.weights_file,
        train_labels=bundle.train.labels, class_names=list(bundle.class_names),
        strict_freeze="freeze_prefixes" in config.overrides, warn=log, backbone=probe_input,
    )
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    criterion.to(device)
    criterion_params = [p for p in criterion.parameters() if p.requires_grad]
    params = [p for p in model.parameters() if p.requires_grad] + criterion_params
    optimizer = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    use_amp = cfg.amp and device.type == "cuda"
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_amp else nullcontext
    return Components(model, criterion, optimizer, params, criterion_params, autocast)


def check_head(model: LTMLModel, bundle: DatasetBundle, loader: Loader, device: torch.device, method: str) -> None:
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
