"""Exponential moving average of the weights, with diffusion_policy's warm-up of the decay.

decay(step) = 1 - (1 + step) ** -power, capped at max_decay: early weights are forgotten fast,
so short runs (and the tests' overfit runs) still get a useful EMA.
"""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    def __init__(self, model: nn.Module, max_decay: float = 0.9999, power: float = 0.75):
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.max_decay, self.power, self.step = max_decay, power, 0

    def decay(self) -> float:
        return min(self.max_decay, max(0.0, 1 - (1 + self.step) ** -self.power))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        decay = self.decay()
        for average, current in zip(self.model.parameters(), model.parameters()):
            average.lerp_(current.detach(), 1 - decay)
        for average, current in zip(self.model.buffers(), model.buffers()):
            average.copy_(current)  # running statistics (BatchNorm) are copied, not averaged
        self.step += 1
