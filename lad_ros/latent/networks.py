"""Per-embodiment MLP encoders q_m and decoders p_m of the LAD latent action model.

Each hidden layer is LayerNorm -> Linear -> ReLU -> Dropout, then a final LayerNorm -> Linear
(the paper's block). The very first LayerNorm, the one that sees the raw action, is optional
(`input_layernorm`): it normalizes each sample over its own dimensions and so erases the
sample's mean and spread, and for a 1-dim action (the gripper) it outputs a constant. It is
always skipped for 1-dim inputs. See docs/latent.md for the measurement behind the default.
"""
from __future__ import annotations

import torch
from torch import nn


def mlp(in_dim: int, hidden: tuple[int, ...], out_dim: int, dropout: float,
        input_layernorm: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = in_dim
    for index, size in enumerate(hidden):
        if index > 0 or (input_layernorm and in_dim > 1):
            layers.append(nn.LayerNorm(width))
        layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
        width = size
    layers += [nn.LayerNorm(width), nn.Linear(width, out_dim)]
    return nn.Sequential(*layers)


class LatentActionNet(nn.Module):
    """Encoders and decoders for a fixed set of embodiments sharing one latent space.

    Encoders return L2-normalized latents: InfoNCE compares directions (cosine similarity), so
    the unit sphere is the space the contrastive stage actually shapes, and a policy gets
    bounded targets.
    """

    def __init__(self, action_dims: dict[str, int], hidden: dict[str, tuple[int, ...]],
                 latent_dim: int, dropout: float = 0.0, input_layernorm: bool = True):
        super().__init__()
        self.action_dims = dict(action_dims)
        self.latent_dim = latent_dim
        self.encoders = nn.ModuleDict({
            name: mlp(dim, tuple(hidden[name]), latent_dim, dropout, input_layernorm)
            for name, dim in action_dims.items()})
        self.decoders = nn.ModuleDict({
            name: mlp(latent_dim, tuple(reversed(hidden[name])), dim, dropout)
            for name, dim in action_dims.items()})

    def encode(self, name: str, actions: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(self.encoders[name](actions), dim=-1)

    def decode(self, name: str, latents: torch.Tensor) -> torch.Tensor:
        return self.decoders[name](latents)
