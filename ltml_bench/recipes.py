"""Named training recipes: harness settings a dataset uses by default.

`DB_RESNET50` is the recipe of the published VOC-LT / COCO-LT numbers (Wu et al., ECCV 2020;
docs/protocol.md section 3.2): ImageNet ResNet-50 through timm, stem and layer1 frozen, every backbone
BatchNorm frozen, neck Linear(2048, 256) -> BatchNorm1d -> Dropout(0.5), 224 px, SGD lr 0.02,
momentum 0.9, weight decay 1e-4, batch 32, gradient clipping at L2 norm 35, linear warm-up over
500 iterations from lr/3, 80 epochs with lr x0.1 at 55 and 70. `DB_RESNET50_RESAMPLED` replaces
the schedule for methods that train with class-aware re-sampling: 8 epochs, steps at 5 and 7.
The train augmentation of the recipe lives with the image datasets (`ltml_bench.data.images`).

`SYNTH_LT_PRETRAINED` is the same recipe, with its schedules unchanged, for the embedded dataset
synth_lt: a small pretrained backbone at 32 px (every difference and its reason are written beside
it); `SYNTH_LT_SCRATCH` is synth_lt's earlier
from-scratch regime, kept as the named alternative `--set recipe=scratch`.
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


# ---------------------------------------------------------------- synth_lt: the published recipe, small backbone
#
# synth_lt (data_seed 0) has N = 1,279 training images, max_k n_k = 783 and C = 20, so its sizes are
# VOC-LT's (1,142 images; a class-aware epoch of 783 * 20 / 4 = 3,915 samples against VOC-LT's
# 3,875). The published schedules therefore apply as they are:
# - without re-sampling: 80 epochs, lr x0.1 at 55 and 70: 80 * 1,279 / 32 = 3,200 iterations;
# - with re-sampling: 8 epochs of max_k n_k * C / 4 samples (epoch_reduce 4), lr x0.1 at 5 and 7:
#   979 iterations; the two schedules keep the published ratio of training lengths (3.27 on
#   synth_lt, 2.95 on VOC-LT, the same sizes up to the data);
# - warm-up: linear from lr / 3 over the fraction of training that 500 iterations are of the
#   published schedule on VOC-LT: 500 / 2,855 = 17.5% of the uniform schedule (560 iterations) and
#   500 / 969 = 51.6% of the re-sampled one (505 iterations).
# Until December 2026 both schedules were shortened by a factor 0.4 (32 epochs with steps at 22 and
# 28; re-sampled epochs of max_k n_k * C / 10), chosen under a loaded machine to keep the default
# run within a minute. Measured on an idle 2-core machine, the full schedules fit the same limits
# (the default HMT-Net run trains in about 17 s, an 80-epoch run in about 50 s at one torch thread)
# while the shortened ones left every method under-trained (seed 0, "all" mAP at 0.4 -> 1.0: ERM
# 47.3 -> 52.3, ASL 59.7 -> 65.3, RS 51.0 -> 54.7, DB Focal 53.8 -> 56.1, HMT-Net 52.5 -> 58.6), so
# the shortening is gone. docs/protocol.md section 6 keeps the record.
# Unchanged from the published recipe: SGD lr 0.02, momentum 0.9, weight decay 1e-4, batch 32,
# gradient clipping at L2 norm 35, the neck's BatchNorm1d -> Dropout(0.5), the classifier's init,
# and the pretrained backbone with its stem and first stage (timm's `conv1`, `bn1`, `layer1`) frozen
# and every backbone BatchNorm in eval mode. The backbone is timm's `test_resnet` (the ResNet layout
# of ResNet-50, 0.37 M parameters) pretrained on synth_world (`ltml-bench pretrain`, shipped as
# `builtin:synth_world-test_resnet`); its 96 features feed a neck of 64 (ResNet-50: 2,048 -> 256).
# Images are 32 px (synth_lt's size), augmented by a random flip and a 2-pixel shift.

SYNTH_LT_PRETRAINED: dict[str, Any] = {
    "backbone": "test_resnet",
    "pretrained": True,
    "weights_file": "builtin:synth_world-test_resnet",
    "image_size": 32,
    "freeze_prefixes": ("conv1", "bn1", "layer1"),
    "frozen_bn": True,
    "neck_dim": 64,
    "dropout": 0.5,
    "lr": 0.02,
    "momentum": 0.9,
    "weight_decay": 1e-4,
    "batch_size": 32,
    "warmup_iters": 560,
    "warmup_ratio": 1.0 / 3.0,
    "grad_clip": 35.0,
    "epochs": 80,
    "lr_steps": (55, 70),
}

SYNTH_LT_PRETRAINED_RESAMPLED: dict[str, Any] = {"epochs": 8, "lr_steps": (5, 7), "epoch_reduce": 4, "warmup_iters": 505}

# `--set recipe=scratch`: synth_lt's earlier regime, the same backbone trained from scratch (no
# weights, nothing frozen) at lr 0.1 for 30 epochs (10 with re-sampling). What a method does without
# pretraining is a finding of its own; the published numbers are not made this way.
SYNTH_LT_SCRATCH: dict[str, Any] = {
    "backbone": "test_resnet",
    "pretrained": False,
    "image_size": 32,
    "epochs": 30,
    "lr_steps": (20, 27),
    "batch_size": 32,
    "lr": 0.1,
    "warmup_iters": 100,
    "neck_dim": 64,
}

SYNTH_LT_SCRATCH_RESAMPLED: dict[str, Any] = {"epochs": 10, "lr_steps": (7, 9)}
