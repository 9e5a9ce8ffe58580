"""Small backbones registered in timm's model registry, for the embedded 32-pixel dataset.

ImageNet-style networks down-sample a 32 x 32 image to 1 x 1 within their stem and first stages,
which wipes out the few-pixel patterns of `synth_lt`. `ltml_cifar_resnet` is a CIFAR-style
residual network (3x3 stem without pooling, three stages at strides 1 / 2 / 2, widths 32 / 64 /
128, two basic blocks each by default), registered with `timm.models.register_model`, so
`--backbone ltml_cifar_resnet` goes through `timm.create_model` like any timm model and exposes
`num_features` and `reset_classifier` the same way. It has no pretrained weights.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class _BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.act = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act(out + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (32, 64, 128), depth: int = 2, num_classes: int = 0, in_chans: int = 3, **_: Any) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_chans, widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        layers: list[nn.Module] = []
        cin = widths[0]
        for i, width in enumerate(widths):
            for j in range(depth):
                layers.append(_BasicBlock(cin, width, 2 if (i > 0 and j == 0) else 1))
                cin = width
        self.stages = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.num_features = cin
        self.fc: nn.Module = nn.Linear(cin, num_classes) if num_classes > 0 else nn.Identity()
        self.pretrained_cfg = {"architecture": "ltml_cifar_resnet", "mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}

    def reset_classifier(self, num_classes: int, global_pool: str = "avg") -> None:
        self.fc = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.pool(x).flatten(1)
        return x if pre_logits else self.fc(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def _register() -> None:
    from timm.models import register_model
    from timm.models._registry import is_model

    if is_model("ltml_cifar_resnet"):
        return

    @register_model
    def ltml_cifar_resnet(pretrained: bool = False, **kwargs: Any) -> CifarResNet:
        """CIFAR-style ResNet for 32-pixel inputs (ltml-bench); no pretrained weights."""
        if pretrained:
            raise RuntimeError("ltml_cifar_resnet has no pretrained weights; use --no-pretrained")
        return CifarResNet(**kwargs)

    @register_model
    def ltml_cifar_resnet_small(pretrained: bool = False, **kwargs: Any) -> CifarResNet:
        """A narrower variant (16 / 32 / 64, one block per stage) for quick tests."""
        if pretrained:
            raise RuntimeError("ltml_cifar_resnet_small has no pretrained weights; use --no-pretrained")
        return CifarResNet(widths=(16, 32, 64), depth=1, **kwargs)


_register()
