"""1-D temporal U-Net denoiser with FiLM conditioning (Chi et al., diffusion policy).

The diffusion step embedding and the flattened observation features are the global condition;
every residual block scales and shifts its features with it (FiLM). Two down-samplings with the
default three levels: the horizon must be divisible by 4.

Chi et al.'s up path uses the skip connections of all levels but the finest, full-resolution
one. `full_resolution_skip` (the default here) adds that level back, as in a standard U-Net.
On the synthetic overfit task this cut the loss after 300 steps from 0.71 to 0.30 (see
docs/policy.md). Set it to false for Chi's exact network.
"""
from __future__ import annotations

import torch
from torch import nn

from lad_ros.policy.transformer import sinusoidal_embedding


class ConvBlock(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, groups: int):
        super().__init__(nn.Conv1d(in_channels, out_channels, kernel_size,
                                   padding=kernel_size // 2),
                         nn.GroupNorm(groups, out_channels), nn.Mish())


class FilmResidualBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, cond_dim: int, kernel_size: int,
                 groups: int):
        super().__init__()
        self.first = ConvBlock(in_channels, out_channels, kernel_size, groups)
        self.second = ConvBlock(out_channels, out_channels, kernel_size, groups)
        self.film = nn.Sequential(nn.Mish(), nn.Linear(cond_dim, 2 * out_channels))
        self.residual = (nn.Conv1d(in_channels, out_channels, 1)
                         if in_channels != out_channels else nn.Identity())

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, bias = self.film(cond)[..., None].chunk(2, dim=1)
        out = self.first(x) * scale + bias
        return self.second(out) + self.residual(x)


class UnetDenoiser(nn.Module):
    def __init__(self, action_dim: int, horizon: int, obs_dim: int, n_obs_steps: int,
                 down_dims: tuple[int, ...] = (256, 512, 1024), kernel_size: int = 5,
                 groups: int = 8, step_embed_dim: int = 128,
                 full_resolution_skip: bool = True):
        super().__init__()
        if horizon % 2 ** (len(down_dims) - 1):
            raise ValueError(f"horizon {horizon} must be divisible by "
                             f"{2 ** (len(down_dims) - 1)} for {len(down_dims)} U-Net levels")
        self.step_embed_dim = step_embed_dim
        self.step_mlp = nn.Sequential(nn.Linear(step_embed_dim, 4 * step_embed_dim), nn.Mish(),
                                      nn.Linear(4 * step_embed_dim, step_embed_dim))
        cond_dim = step_embed_dim + obs_dim * n_obs_steps
        dims = [action_dim, *down_dims]
        pairs = list(zip(dims[:-1], dims[1:]))

        def block(a, b):
            return FilmResidualBlock(a, b, cond_dim, kernel_size, groups)

        self.down = nn.ModuleList()
        for i, (a, b) in enumerate(pairs):
            last = i == len(pairs) - 1
            self.down.append(nn.ModuleList([block(a, b), block(b, b),
                                            nn.Identity() if last else nn.Conv1d(b, b, 3, 2, 1)]))
        self.mid = nn.ModuleList([block(dims[-1], dims[-1]), block(dims[-1], dims[-1])])
        self.up = nn.ModuleList()
        for a, b in reversed(pairs[1:]):
            self.up.append(nn.ModuleList([block(2 * b, a), block(a, a),
                                          nn.ConvTranspose1d(a, a, 4, 2, 1)]))
        if full_resolution_skip:
            first = down_dims[0]
            self.up.append(nn.ModuleList([block(2 * first, first), block(first, first),
                                          nn.Identity()]))
        self.final = nn.Sequential(ConvBlock(down_dims[0], down_dims[0], kernel_size, groups),
                                   nn.Conv1d(down_dims[0], action_dim, 1))

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor,
                cond: torch.Tensor) -> torch.Tensor:
        """sample [B, H, A], timestep [B], cond [B, n_obs, obs_dim] -> noise estimate [B, H, A]."""
        step = self.step_mlp(sinusoidal_embedding(timestep, self.step_embed_dim).to(sample.dtype))
        global_cond = torch.cat([step, cond.flatten(1)], dim=-1)
        x, skips = sample.transpose(1, 2), []
        for first, second, downsample in self.down:
            x = second(first(x, global_cond), global_cond)
            skips.append(x)
            x = downsample(x)
        for block in self.mid:
            x = block(x, global_cond)
        for first, second, upsample in self.up:
            x = torch.cat([x, skips.pop()], dim=1)
            x = upsample(second(first(x, global_cond), global_cond))
        return self.final(x).transpose(1, 2)
