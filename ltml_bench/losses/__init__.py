"""Loss functions of the benchmark's methods (one page each in docs/methods/) and `create_loss`.

Every loss is an `nn.Module` constructed as `Class(class_counts, num_samples, **hyperparameters)`
(n_k = per-class TRAINING positive counts, N = number of training images) and called as
`loss(logits[B, C], targets[B, C] in {0, 1}) -> scalar`, computing in float32 (at least) whatever the
input dtype. `ldam` and `circle` take COSINE scores from a cosine classifier instead of logits.

| key        | class                          | reduction (default)          |
|------------|--------------------------------|------------------------------|
| erm        | ERMLoss                        | mean over B x C              |
| rw         | ReweightedBCELoss              | mean over B x C              |
| focal      | FocalLoss                      | mean over B x C              |
| cb_focal   | ClassBalancedFocalLoss         | mean over B x C              |
| db_focal   | DistributionBalancedFocalLoss  | mean over B x C              |
| asl        | AsymmetricLoss                 | SUM over B x C (official)    |
| zlpr       | ZLPRLoss                       | mean over images             |
| lsep       | LSEPLoss                       | mean over images             |
| ldam       | LDAMLoss                       | mean over B x C              |
| circle     | CircleLoss                     | mean over images             |

RS uses `erm` with the class-aware sampler; ML-GCN, BalPoE and HMT-Net build their losses elsewhere.
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from ltml_bench.errors import ConfigError
from ltml_bench.losses._common import MultiLabelLoss
from ltml_bench.losses.asl import AsymmetricLoss
from ltml_bench.losses.bce import ERMLoss, ReweightedBCELoss
from ltml_bench.losses.circle import CircleLoss
from ltml_bench.losses.db import DB_FOCAL_DATASET_DEFAULTS, DistributionBalancedFocalLoss
from ltml_bench.losses.focal import ClassBalancedFocalLoss, FocalLoss
from ltml_bench.losses.ldam import LDAMLoss
from ltml_bench.losses.lsep import LSEPLoss
from ltml_bench.losses.zlpr import ZLPRLoss

LOSSES: dict[str, type[MultiLabelLoss]] = {
    cls.NAME: cls
    for cls in (
        ERMLoss, ReweightedBCELoss, FocalLoss, ClassBalancedFocalLoss, DistributionBalancedFocalLoss,
        AsymmetricLoss, ZLPRLoss, LSEPLoss, LDAMLoss, CircleLoss,
    )
}


def hyperparameter_names(cls: type) -> tuple[str, ...]:
    """The keyword-only constructor arguments of a loss class (its hyper-parameters, `reduction` included)."""
    return tuple(
        p.name for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    )


def hyperparameter_defaults(cls: type) -> dict[str, Any]:
    """{name: default} of the keyword-only constructor arguments of a loss class."""
    return {
        p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }


def create_loss(name: str, class_counts: Any, num_samples: int, **hyperparameters: Any) -> nn.Module:
    """Build the loss registered as `name` with the given training statistics and hyper-parameters.

    Unknown `name` or hyper-parameter keyword -> `ConfigError` listing the valid ones. Aliases a
    class declares in `HYPERPARAMETER_ALIASES` (e.g. "lambda" for db_focal's `lam`) are accepted.
    """
    cls = LOSSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown loss {name!r}; valid names: {', '.join(sorted(LOSSES))}")
    valid = hyperparameter_names(cls)
    aliases: dict[str, str] = getattr(cls, "HYPERPARAMETER_ALIASES", {})
    kwargs: dict[str, Any] = {}
    for key, value in hyperparameters.items():
        target = aliases.get(key, key)
        if target not in valid:
            raise ConfigError(
                f"unknown hyper-parameter {key!r} for loss {name!r}; valid keys: {', '.join(valid)}"
            )
        if target in kwargs:
            raise ConfigError(f"loss {name!r}: {target!r} given twice (as {key!r} and its alias)")
        kwargs[target] = value
    return cls(class_counts, num_samples, **kwargs)


__all__ = [
    "AsymmetricLoss",
    "CircleLoss",
    "ClassBalancedFocalLoss",
    "DB_FOCAL_DATASET_DEFAULTS",
    "DistributionBalancedFocalLoss",
    "ERMLoss",
    "FocalLoss",
    "LDAMLoss",
    "LOSSES",
    "LSEPLoss",
    "MultiLabelLoss",
    "ReweightedBCELoss",
    "ZLPRLoss",
    "create_loss",
    "hyperparameter_defaults",
    "hyperparameter_names",
]
