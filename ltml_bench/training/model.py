"""The model every method trains: a timm backbone, the recipe's neck, and a method's head.

backbone (any timm model, global-average pooled) -> neck: Linear(d, neck_dim) -> BatchNorm1d ->
Dropout(p) (docs/protocol.md section 3.2; `neck_dim=0` skips it) -> head. The default head is the
recipe's classifier, Linear(neck_dim, C) with weight ~ N(0, 0.01) and bias 0. A method may supply
another head: a module built as `Head(in_features, num_classes, class_counts=..., **params)` (plus
`train_labels=` [N, C] and `class_names=` when its constructor names them) whose
`forward(features)` returns logits [B, C] in eval mode and whatever its loss expects in training.
"""

from __future__ import annotations

import inspect
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from ltml_bench.errors import ConfigError, UserError, command_line_names, option, setting


class LinearHead(nn.Module):
    """The recipe's classifier: Linear(in_features, C), weight ~ N(0, 0.01), bias 0."""

    def __init__(self, in_features: int, num_classes: int, class_counts: Sequence[int] | None = None) -> None:
        super().__init__()
        self.fc = nn.Linear(in_features, num_classes)
        nn.init.normal_(self.fc.weight, 0.0, 0.01)
        nn.init.zeros_(self.fc.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(features)


class Neck(nn.Module):
    """Linear(d, dim) -> BatchNorm1d -> Dropout(p)."""

    def __init__(self, in_features: int, dim: int, dropout: float) -> None:
        super().__init__()
        self.fc = nn.Linear(in_features, dim)
        self.bn = nn.BatchNorm1d(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.bn(self.fc(x)))


def hub_reachable(timeout: float = 3.0) -> bool:
    """False only when the Hugging Face hub's host (`$HF_ENDPOINT`, default huggingface.co) has no
    route or no DNS entry from here and no proxy is configured; True when in doubt."""
    import os
    import socket
    from urllib.parse import urlparse

    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # the proxy may reach what a direct connection cannot
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    try:
        with socket.create_connection((endpoint.hostname or "huggingface.co", endpoint.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


@contextmanager
def _hub_offline() -> Iterator[None]:
    """huggingface_hub's offline mode (what HF_HUB_OFFLINE=1 sets) for the duration of the block."""
    try:
        import huggingface_hub.constants as hub
    except ImportError:
        yield
        return
    before = hub.HF_HUB_OFFLINE
    hub.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hub.HF_HUB_OFFLINE = before


def create_backbone(name: str, pretrained: bool, weights_file: str = "") -> nn.Module:
    """A timm model without classifier (pooled features). Errors name the fix."""
    import timm

    import ltml_bench.training.backbones  # noqa: F401  (registers the project's small timm models)

    if name not in timm.list_models() and name not in timm.list_models(pretrained=True):
        close = timm.list_models(f"*{name[:6]}*")[:5]
        hint = f" Close names: {', '.join(close)}." if close else ""
        raise UserError(f"{option('--backbone', 'backbone', name)}: not a timm model.{hint} List them with: python -c \"import timm; print(timm.list_models())\"")
    kwargs: dict[str, Any] = {"num_classes": 0}
    if weights_file:
        from ltml_bench.training.weights import resolve_weights

        path, _ = resolve_weights(weights_file)
        if path.suffix == ".safetensors":
            return _backbone_from_safetensors(name, path)
        kwargs["pretrained"] = True
        kwargs["pretrained_cfg_overlay"] = {"file": str(path)}
    else:
        kwargs["pretrained"] = pretrained
    # no route to the Hugging Face hub: ask it for its local cache only, instead of ~50 s of retries
    offline = _hub_offline() if pretrained and not weights_file and not hub_reachable() else nullcontext()
    try:
        with offline:
            return timm.create_model(name, **kwargs)
    except Exception as exc:
        if weights_file:  # timm reads it with torch.load(weights_only=True) or safetensors: nothing in it can run
            reason = (str(exc).strip().splitlines() or [""])[0][:160]
            raise UserError(
                f"weights_file {weights_file!r} could not be loaded into {name!r} ({type(exc).__name__}: {reason}); "
                f"give a timm/torchvision state dict (.pth of tensors only, or .safetensors)"
            ) from exc
        if pretrained and not weights_file:
            raise UserError(
                f"could not load pretrained weights for {name!r} ({type(exc).__name__}); offline, download them once "
                f"and pass {setting('weights_file', 'PATH')} (a .pth/.safetensors file), or train from scratch with "
                f"{'--no-pretrained' if command_line_names() else 'pretrained=False'}"
            ) from exc
        raise


def _backbone_from_safetensors(name: str, path: Path) -> nn.Module:
    """A timm model without classifier whose state_dict is read from a safetensors file (strict:
    every tensor of the model present with its shape, nothing extra)."""
    import timm

    from ltml_bench.training.weights import load_state

    model = timm.create_model(name, pretrained=False, num_classes=0)
    state = load_state(path)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"weights file {path} does not fit backbone {name!r} ({first[:160]}); "
                        f"give weights pretrained for {name!r} (ltml-bench pretrain --backbone {name})") from exc
    return model


class LTMLModel(nn.Module):
    """backbone -> neck -> head, with optional frozen stages and frozen BatchNorm statistics."""

    def __init__(self, backbone: nn.Module, neck: nn.Module | None, head: nn.Module, frozen_bn: bool = False) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = neck if neck is not None else nn.Identity()
        self.head = head
        self.frozen_bn = frozen_bn

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.neck(self.backbone(x))

    def forward(self, x: torch.Tensor) -> Any:
        return self.head(self.features(x))

    def train(self, mode: bool = True) -> "LTMLModel":
        super().train(mode)
        if mode and self.frozen_bn:
            for module in self.backbone.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self


def freeze_parameters(module: nn.Module, prefixes: Sequence[str]) -> int:
    """Set requires_grad=False on parameters whose names start with any prefix; returns how many."""
    frozen = 0
    for name, param in module.named_parameters():
        if any(name.startswith(prefix) for prefix in prefixes):
            param.requires_grad_(False)
            frozen += 1
    return frozen


def build_model(
    backbone_name: str,
    pretrained: bool,
    num_classes: int,
    class_counts: np.ndarray,
    head_cls: type[nn.Module] | None,
    head_params: dict[str, Any],
    neck_dim: int,
    dropout: float,
    freeze_prefixes: Sequence[str] = (),
    frozen_bn: bool = False,
    weights_file: str = "",
    train_labels: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    strict_freeze: bool = True,
    warn: Callable[[str], None] | None = None,
    backbone: nn.Module | None = None,
) -> LTMLModel:
    """Backbone + neck + head. `strict_freeze=False` (the recipe's prefixes, not the user's) only
    warns when the prefixes match nothing in this backbone, e.g. a ResNet recipe on another model.
    `backbone`: a ready module with `num_features` instead of the timm model `backbone_name`
    (the probe protocol's pass-through of cached features)."""
    if backbone is None:
        backbone = create_backbone(backbone_name, pretrained, weights_file)
    if freeze_prefixes:
        if freeze_parameters(backbone, freeze_prefixes) == 0:
            message = f"freeze_prefixes={','.join(freeze_prefixes)} matched no parameter of {backbone_name!r}"
            if strict_freeze:
                raise UserError(message + f"; give prefixes of its parameter names or {setting('freeze_prefixes', 'none')}")
            if warn is not None:
                warn(message + " (the recipe's frozen stages do not apply to this backbone: nothing frozen)")
    width = int(getattr(backbone, "num_features"))
    neck = Neck(width, neck_dim, dropout) if neck_dim > 0 else None
    in_features = neck_dim if neck_dim > 0 else width
    head_type = head_cls or LinearHead
    # data a head may need beyond the counts (ML-GCN's co-occurrence graph), passed only if it accepts it
    accepted = inspect.signature(head_type.__init__).parameters
    extras = {k: v for k, v in (("train_labels", train_labels), ("class_names", class_names)) if v is not None and k in accepted}
    try:
        head = head_type(in_features, num_classes, class_counts=class_counts, **extras, **head_params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"head {head_type.__name__}: bad hyper-parameters ({exc}); fix the --set values") from exc
    return LTMLModel(backbone, neck, head, frozen_bn=frozen_bn)
