"""Losses of the latent action model: pairwise InfoNCE (eq. 2), its temperature schedule and
the reconstruction loss (eq. 3)."""
from __future__ import annotations

import itertools
import math

import torch
from torch.nn import functional as F


def temperature(step: int, total_steps: int, tau_start: float, tau_end: float) -> float:
    """Exponential anneal: tau_start at step 0, tau_end at the last step, geometric between."""
    if total_steps <= 1:
        return tau_end
    fraction = min(max(step / (total_steps - 1), 0.0), 1.0)
    return tau_start * math.exp(fraction * math.log(tau_end / tau_start))


def _similarity(z_a: torch.Tensor, z_b: torch.Tensor, tau: float) -> torch.Tensor:
    """logits[n, k] = <z_a^n, z_b^k> / tau for unit vectors (cosine similarity)."""
    return F.normalize(z_a, dim=-1) @ F.normalize(z_b, dim=-1).T / tau


def info_nce(z_a: torch.Tensor, z_b: torch.Tensor, tau: float) -> torch.Tensor:
    """InfoNCE of one ordered pair (a -> b): row n of z_a must pick row n of z_b among the
    batch: -(1/B) sum_n log softmax_k(<z_a^n, z_b^k> / tau)[n]."""
    logits = _similarity(z_a, z_b, tau)
    return F.cross_entropy(logits, torch.arange(len(z_a), device=z_a.device))


def pairwise_info_nce(latents: dict[str, torch.Tensor], tau: float) -> torch.Tensor:
    """Eq. 2: InfoNCE averaged over every ordered pair (i, j), i != j, of the M modalities.

    The b -> a logits are the transpose of the a -> b ones, so each unordered pair costs one
    B x B product (the dominant cost: B^2 per pair).
    """
    names = list(latents)
    total, count = 0.0, 0
    for a, b in itertools.combinations(names, 2):
        logits = _similarity(latents[a], latents[b], tau)
        targets = torch.arange(len(logits), device=logits.device)
        total = total + F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets)
        count += 2
    return total / count


def reconstruction(predicted: dict[str, torch.Tensor],
                   targets: dict[str, torch.Tensor]) -> torch.Tensor:
    """Eq. 3 per sample: (1/M) sum_m ||p_m(q_m(x_m)) - x_m||^2, averaged over the batch
    (the paper sums over n; the mean only rescales the learning rate and keeps it batch-free)."""
    per_modality = [((predicted[m] - targets[m]) ** 2).sum(-1).mean() for m in targets]
    return sum(per_modality) / len(per_modality)


def cross_reconstruction(decoders, latents: dict[str, torch.Tensor],
                         targets: dict[str, torch.Tensor]) -> torch.Tensor:
    """Eq. 7 as a loss: mean over ordered pairs i != j of ||p_j(q_i(x_i)) - x_j||^2 (batch
    mean). Trains each decoder on the other embodiments' latents of the same tuple, so a
    cross-decoded action is the data's mean given the source action, not the decoder's
    extrapolation off its own encoder's image."""
    terms = [((decoders[j](latents[i]) - targets[j]) ** 2).sum(-1).mean()
             for i in latents for j in targets if i != j]
    return sum(terms) / len(terms)
