"""Typed configuration of one run, and `--set KEY=VALUE` parsing.

Resolution order (later wins): `TrainConfig` defaults < the dataset's recipe < the dataset's
re-sampling recipe (when the method trains with the class-aware sampler) < explicit CLI options
(`--epochs`, `--backbone`, ...) < `--set`. Method hyper-parameters: the method's defaults < its
per-dataset published values < `--set`. Every key and value is validated against the type of its
default; an unknown key names the valid ones.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import operator
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from ltml_bench.errors import ConfigError, command_line_names, setting

PROTOCOLS = ("finetune", "probe")  # the published fine-tuning protocol; heads on cached frozen-backbone features


@dataclass
class TrainConfig:
    """Harness settings. Defaults are the published ResNet-50 recipe (docs/protocol.md section 3.2)."""

    backbone: str = "resnet50"
    pretrained: bool = True
    weights_file: str = ""  # a local checkpoint for offline use ("" = timm's default source; builtin:NAME = shipped weights)
    weights_sha256: str = ""  # the sha256 of weights_file, filled in when the run is resolved
    recipe: str = "default"  # the dataset's recipe, or one of its named alternatives (e.g. synth_lt's "scratch")
    image_size: int = 224
    neck_dim: int = 256  # 0 = no neck: the head sees the pooled backbone feature
    dropout: float = 0.5
    freeze_prefixes: tuple[str, ...] = ()  # backbone parameters whose names start with these are frozen
    frozen_bn: bool = False  # keep every backbone BatchNorm in eval mode
    epochs: int = 80
    lr_steps: tuple[int, ...] = (55, 70)
    lr: float = 0.02
    momentum: float = 0.9
    weight_decay: float = 1e-4
    batch_size: int = 32
    warmup_iters: int = 500
    warmup_ratio: float = 1.0 / 3.0
    grad_clip: float = 35.0  # L2 norm; 0 disables
    sampler: str = "shuffle"  # "shuffle" or "class_aware"
    images_per_draw: int = 3  # class-aware sampler: consecutive images taken per class draw
    epoch_reduce: int = 4  # class-aware sampler: epoch = max_k n_k * C / epoch_reduce samples
    eval_batch_size: int = 256
    num_workers: int = 0
    amp: bool = True  # mixed precision (bf16) on CUDA; ignored on CPU
    compile: bool = False  # torch.compile the training model (an execution setting: not part of the run's key)
    protocol: str = "finetune"  # "finetune" (the published protocol) or "probe" (heads on cached frozen-backbone features)
    head_min: int = 100  # group rule: head n >= head_min
    tail_below: int = 20  # group rule: tail n < tail_below
    device: str = "auto"
    # result intervals (a reporting setting: not part of the run's key): percentile bootstrap over test images
    bootstrap_resamples: int = 1000  # 0 = no intervals in the record
    ci_level: float = 0.95

    def validate(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"protocol={self.protocol!r}: must be 'finetune' (the published protocol) or 'probe' (linear probe on cached features)")
        if self.sampler not in ("shuffle", "class_aware"):
            raise ConfigError(f"sampler={self.sampler!r}: must be 'shuffle' or 'class_aware'")
        for name in ("epochs", "batch_size", "eval_batch_size", "image_size", "images_per_draw", "epoch_reduce"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)}: must be >= 1")
        if self.lr <= 0:
            raise ConfigError(f"lr={self.lr}: must be > 0")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"dropout={self.dropout}: must be in [0, 1)")
        if self.tail_below > self.head_min:
            raise ConfigError(f"tail_below={self.tail_below} must not exceed head_min={self.head_min}")
        if self.bootstrap_resamples < 0 or self.bootstrap_resamples == 1:
            raise ConfigError(f"bootstrap_resamples={self.bootstrap_resamples}: must be 0 (no intervals) or >= 2, e.g. 1000")
        if not 0.0 < self.ci_level < 1.0:
            raise ConfigError(f"ci_level={self.ci_level}: must be between 0 and 1, e.g. 0.95")
        if self.batch_size < 2:
            raise ConfigError("batch_size must be >= 2 (the neck's BatchNorm needs two images)")
        for name in ("num_workers", "neck_dim", "warmup_iters"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)}: must be >= 0")
        for name in ("lr", "momentum", "weight_decay", "grad_clip", "warmup_ratio", "dropout"):
            if not math.isfinite(getattr(self, name)):
                raise ConfigError(f"{name}={getattr(self, name)}: must be a finite number")
        for name in ("momentum", "weight_decay", "grad_clip"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}={getattr(self, name)}: must be >= 0")
        if not all(isinstance(step, int) and not isinstance(step, bool) and step >= 0 for step in self.lr_steps):
            raise ConfigError(f"lr_steps={','.join(map(str, self.lr_steps))}: must be epoch numbers, e.g. lr_steps=55,70 (or none)")


TRAIN_FIELDS: dict[str, Any] = {f.name: f for f in fields(TrainConfig)}
EVALUATION_ONLY = ("bootstrap_resamples", "ci_level")  # settings of the record's intervals: never in a run's key or variant


def parse_value(key: str, text: str, default: Any) -> Any:
    """Parse `text` to the type of `default` (bool, int, float, tuple, str, or None = free)."""
    text = text.strip()
    try:
        if isinstance(default, bool):
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true/false")
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return _finite(float(text))
        if isinstance(default, tuple):
            if text in ("", "none", "()"):
                return ()
            items = [item.strip() for item in text.split(",") if item.strip()]
            sample = default[0] if default else None
            if isinstance(sample, str):
                return tuple(items)
            if isinstance(sample, float):
                return tuple(_finite(float(item)) for item in items)
            try:
                return tuple(int(item) for item in items)
            except ValueError:
                return tuple(items)
        if default is None:
            return _parse_free(text)
        return text
    except ValueError as exc:
        kind = type(default).__name__ if default is not None else "value"
        example = f"{key}={_example(default)}" if command_line_names() else setting(key, default, example=True)
        raise ConfigError(f"{setting(key, text)}: not a valid {kind} ({exc}); e.g. {example}") from None


def _parse_free(text: str) -> Any:
    lowered = text.lower()
    if lowered in ("none", "null"):
        return None
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            value = cast(text)
        except ValueError:
            continue
        return _finite(value)
    return text


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("NaN and inf are not allowed")
    return value


SEED_MAX = 2**32 - 1  # numpy's seeds


def check_seed(seed: Any) -> int:
    """`seed` as an int in [0, 2^32 - 1] (what every generator of the harness accepts)."""
    try:
        value = operator.index(seed)  # ints and numpy integers, not floats or strings
    except TypeError:
        value = None
    if isinstance(seed, bool) or value is None or not 0 <= value <= SEED_MAX:
        raise ConfigError(f"--seed {seed}: must be an integer from 0 to {SEED_MAX}")
    return int(value)


def check_finite(key: str, value: Any) -> None:
    """Refuse NaN or inf in a typed (Python API) value, also inside tuples and lists."""
    items = value if isinstance(value, (tuple, list)) else [value]
    for item in items:
        if isinstance(item, float) and not math.isfinite(item):
            raise ConfigError(f"--set {key}={value}: NaN and inf are not allowed")


def _example(default: Any) -> str:
    if isinstance(default, tuple):
        return ",".join(str(v) for v in default) or "1,2"
    return str(default).lower() if isinstance(default, bool) else str(default)


def _format_value(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value) if value else "none"
    return str(value)


def parse_assignments(assignments: list[str] | tuple[str, ...]) -> dict[str, str]:
    """['a=1', 'b=x'] -> {'a': '1', 'b': 'x'}; a malformed item is a ConfigError."""
    parsed: dict[str, str] = {}
    for item in assignments:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. --set lr=0.01")
        parsed[key] = value
    return parsed


def unknown_key_error(key: str, valid: list[str], owner: str) -> ConfigError:
    close = difflib.get_close_matches(key, valid, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return ConfigError(f"{setting(key)}: unknown key for {owner}.{hint} Valid keys: {', '.join(sorted(valid))}")


def config_hash(payload: Mapping[str, Any]) -> str:
    """A short stable hash of a JSON-able mapping (identifies a run's configuration)."""
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def to_jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: to_jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


@dataclass
class RunConfig:
    """Everything that identifies one run (the record's `config`)."""

    method: str
    dataset: str
    seed: int
    train: TrainConfig
    loss_params: dict[str, Any] = field(default_factory=dict)
    head_params: dict[str, Any] = field(default_factory=dict)
    dataset_options: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)  # what the user set explicitly

    def identity(self) -> dict[str, Any]:
        """The JSON-able configuration without the seed or the device (hashes the run folder)."""
        payload = to_jsonable(self)
        payload.pop("seed")
        payload.pop("overrides")
        payload["train"].pop("device")
        payload["train"].pop("num_workers")
        payload["train"].pop("eval_batch_size")
        payload["train"].pop("compile", None)
        for name in EVALUATION_ONLY:  # how the result is summarised, not what is trained
            payload["train"].pop(name, None)
        if payload["train"].get("protocol") == "finetune":  # the default protocol keeps the keys of runs made before the field existed
            payload["train"].pop("protocol")
        for name, default in (("recipe", "default"), ("weights_sha256", "")):  # likewise
            if payload["train"].get(name) == default:
                payload["train"].pop(name)
        return payload

    def key(self) -> str:
        return config_hash(self.identity())

    def variant(self) -> str:
        """'default' or the explicit overrides that change the result, e.g. 'epochs=4 lr_steps=2,3'."""
        ignored = {"device", "num_workers", "eval_batch_size", "compile", *EVALUATION_ONLY}
        items = [f"{k}={_format_value(v)}" for k, v in sorted(self.overrides.items()) if k not in ignored]
        return " ".join(items) if items else "default"
