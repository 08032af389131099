"""Transformer denoiser (paper §6.4.1, after Chi et al.'s TransformerForDiffusion).

Tokens: the diffusion timestep and one token per observation step form the conditioning memory;
the noisy latent action chunk is the sequence being denoised (one token per chunk step). Both
get sinusoidal positional embeddings. Action tokens attend to each other (causally when
`causal`) and to the whole memory through cross-attention: the observations are global
conditioning and only the action tokens are denoised. Every action token may see every
observation token because all observations precede the first action (chunk step 0 = the newest
observation's time).
"""
from __future__ import annotations

import math

import torch
from torch import nn


def sinusoidal_embedding(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """[...] float positions -> [..., dim] (sin half, cos half)."""
    half = dim // 2
    index = torch.arange(half, device=positions.device, dtype=torch.float32)
    frequencies = torch.exp(-math.log(10000.0) * index / max(half - 1, 1))
    angles = positions.float()[..., None] * frequencies
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class TransformerDenoiser(nn.Module):
    def __init__(self, action_dim: int, horizon: int, obs_dim: int, n_obs_steps: int,
                 layers: int = 8, heads: int = 4, width: int = 256, causal: bool = True,
                 dropout_attention: float = 0.3, dropout_embedding: float = 0.0):
        super().__init__()
        self.width = width
        self.action_in = nn.Linear(action_dim, width)
        self.obs_in = nn.Linear(obs_dim, width)
        self.embedding_dropout = nn.Dropout(dropout_embedding)
        # Chi et al. with n_cond_layers=0: an MLP over the memory tokens instead of an encoder
        self.memory_mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.Mish(),
                                        nn.Linear(4 * width, width))
        layer = nn.TransformerDecoderLayer(width, heads, 4 * width, dropout_attention,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, layers)
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, action_dim))
        self.register_buffer("action_positions", sinusoidal_embedding(
            torch.arange(horizon), width)[None], persistent=False)
        self.register_buffer("memory_positions", sinusoidal_embedding(
            torch.arange(n_obs_steps + 1), width)[None], persistent=False)
        mask = torch.triu(torch.full((horizon, horizon), float("-inf")), diagonal=1)
        self.register_buffer("causal_mask", mask if causal else None, persistent=False)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor,
                cond: torch.Tensor) -> torch.Tensor:
        """sample [B, H, A], timestep [B], cond [B, n_obs, obs_dim] -> noise estimate [B, H, A]."""
        time_token = sinusoidal_embedding(timestep, self.width)[:, None].to(sample.dtype)
        memory = torch.cat([time_token, self.obs_in(cond)], dim=1) + self.memory_positions
        memory = self.memory_mlp(self.embedding_dropout(memory))
        tokens = self.embedding_dropout(self.action_in(sample) + self.action_positions)
        out = self.decoder(tokens, memory, tgt_mask=self.causal_mask,
                           tgt_is_causal=self.causal_mask is not None)
        return self.head(out)
