"""Named training recipes: harness settings a dataset uses by default.

`DB_RESNET50` is the recipe of the published VOC-LT / COCO-LT numbers (Wu et al., ECCV 2020;
docs/protocol.md section 3.2): ImageNet ResNet-50 through timm, stem and layer1 frozen, every backbone
BatchNorm frozen, neck Linear(2048, 256) -> BatchNorm1d -> Dropout(0.5), 224 px, SGD lr 0.02,
momentum 0.9, weight decay 1e-4, batch 32, gradient clipping at L2 norm 35, linear warm-up over
500 iterations from lr/3, 80 epochs with lr x0.1 at 55 and 70. `DB_RESNET50_RESAMPLED` replaces
the schedule for methods that train with class-aware re-sampling: 8 epochs, steps at 5 and 7.
The train augmentation of the recipe lives with the image datasets (`ltml_bench.data.images`).
"""

from __future__ import annotations

import os
from typing import Any

DB_RESNET50: dict[str, Any] = {
    "backbone": "resnet50",
    "pretrained": True,
    "image_size": 224,
    "freeze_prefixes": ("conv1", "bn1", "layer1"),
    "frozen_bn": True,
    "neck_dim": 256,
    "dropout": 0.5,
    "lr": 0.02,
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "batch_size": 32,
    "warmup_iters": 500,
    "warmup_ratio": 1.0 / 3.0,
    "grad_clip": 35.0,
    "epochs": 80,
    "lr_steps": (55, 70),
    "num_workers": min(4, os.cpu_count() or 1),
}

DB_RESNET50_RESAMPLED: dict[str, Any] = {"epochs": 8, "lr_steps": (5, 7)}
