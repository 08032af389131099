"""ResNet18 image encoder written here (no torchvision), trained from scratch.

GroupNorm is the default: diffusion_policy found BatchNorm unstable with EMA weights and small
per-camera batches; `norm="batch"` is there for comparison (it folds away at inference).
Images come in as uint8 HWC or float CHW in [0, 255]; scaling and centring happen inside the
model so a checkpoint carries its own input convention.
"""
from __future__ import annotations

import torch
from torch import nn

NORMS = ("group", "batch")


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    # 16 channels per group as in diffusion_policy (channels // 16 groups), at least one group
    return nn.GroupNorm(max(1, channels // 16), channels)


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, channels: int, stride: int, norm: str):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.norm1 = _norm(norm, channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.norm2 = _norm(norm, channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                                          _norm(norm, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet18 trunk + global average pool + linear projection to `out_dim` features.

    `width` is the channel count of the first stage (64 is the real ResNet18; tests use 8).
    """

    def __init__(self, out_dim: int, width: int = 64, norm: str = "group"):
        super().__init__()
        if norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
        self.register_buffer("pixel_mean", torch.full((1, 3, 1, 1), 127.5), persistent=False)
        self.register_buffer("pixel_scale", torch.full((1, 3, 1, 1), 1 / 127.5),
                             persistent=False)
        self.stem = nn.Sequential(nn.Conv2d(3, width, 7, 2, 3, bias=False), _norm(norm, width),
                                  nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        stages, channels = [], width
        for stage in range(4):
            out_channels = width * 2 ** stage
            stride = 1 if stage == 0 else 2
            stages += [BasicBlock(channels, out_channels, stride, norm),
                       BasicBlock(out_channels, out_channels, 1, norm)]
            channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.project = nn.Linear(channels, out_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images: [N, 3, H, W] in [0, 255] (any dtype) -> [N, out_dim]."""
        x = (images.to(self.pixel_mean.dtype) - self.pixel_mean) * self.pixel_scale
        x = self.stages(self.stem(x))
        return self.project(x.mean(dim=(2, 3)))
