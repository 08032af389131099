"""Two-stage training of the latent action model (stages 2-3 of LAD).

Stage A trains the encoders with pairwise InfoNCE while tau anneals tau_start -> tau_end.
Stage B trains the decoders on reconstruction; the encoders either fine-tune at a lower
learning rate with L_total = L_recon + lambda * L_contrastive (eq. 4, tau held at tau_end), or
stay frozen (the "w/o FT" ablation). With `cross_reconstruction_weight` > 0 (not in the paper)
stage B adds that weight times the cross-reconstruction error (eq. 7 as a loss) to L_total;
the logged "recon" stays eq. 3. With anneal_temperature off tau is tau_end throughout
(the "w/o TA" ablation).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from tqdm import tqdm

from lad_ros.latent.losses import (cross_reconstruction, pairwise_info_nce, reconstruction,
                                   temperature)
from lad_ros.latent.networks import LatentActionNet
from lad_ros.latent.normalization import Normalizer
from lad_ros.latent.setup_config import LatentSetup

EpochCallback = Callable[[str, int, "TrainResult"], None]


@dataclass
class TrainResult:
    net: LatentActionNet
    normalizers: dict[str, Normalizer]
    history: dict[str, list] = field(default_factory=lambda: {
        "stage": [], "step": [], "loss": [], "contrastive": [], "recon": [], "tau": []})
    seconds: dict[str, float] = field(default_factory=dict)

    def log(self, stage: str, step: int, loss: float, contrastive: float, recon: float,
            tau: float) -> None:
        for key, value in zip(self.history, (stage, step, loss, contrastive, recon, tau)):
            self.history[key].append(value)


def build_net(setup: LatentSetup, action_dims: dict[str, int]) -> LatentActionNet:
    return LatentActionNet(action_dims, setup.hidden, setup.latent_dim, setup.dropout,
                           setup.input_layernorm)


def _optimizer(setup: LatentSetup, groups: list[dict]) -> torch.optim.Optimizer:
    kind = torch.optim.AdamW if setup.optimizer == "adamw" else torch.optim.Adam
    return kind(groups, lr=setup.lr, weight_decay=setup.weight_decay)


def _batches(n: int, batch_size: int, generator: torch.Generator):
    """Shuffled index batches of one epoch; the incomplete tail is dropped when n > batch."""
    size = min(batch_size, n)
    order = torch.randperm(n, generator=generator)
    for start in range(0, n - size + 1, size):
        yield order[start:start + size]


def steps_per_epoch(n: int, batch_size: int) -> int:
    return max(1, n // min(batch_size, n))


def train(setup: LatentSetup, data: dict[str, np.ndarray], *, seed: int = 0,
          progress: bool = False, on_epoch_end: EpochCallback | None = None) -> TrainResult:
    """Train both stages on aligned tuples `data[embodiment] -> [n, d]` in the embodiment's
    own units; the result carries the normalization fitted on this data."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    names = list(setup.embodiments)
    normalizers = {m: Normalizer.fit(data[m]) for m in names}
    tensors = {m: torch.from_numpy(normalizers[m].normalize(data[m])) for m in names}
    n = len(tensors[names[0]])
    net = build_net(setup, {m: tensors[m].shape[1] for m in names})
    result = TrainResult(net, normalizers)
    schedule = setup.training

    # Stage A: encoders, InfoNCE, tau annealed per step.
    total_a = schedule.encoder_epochs * steps_per_epoch(n, schedule.batch_size)
    optimizer = _optimizer(setup, [{"params": net.encoders.parameters()}])
    net.train()
    step, started = 0, time.perf_counter()
    epochs = tqdm(range(schedule.encoder_epochs), desc=f"{setup.setup} stage A (encoders)",
                  disable=not progress, unit="epoch")
    for epoch in epochs:
        for index in _batches(n, schedule.batch_size, generator):
            tau = (temperature(step, total_a, setup.tau_start, setup.tau_end)
                   if schedule.anneal_temperature else setup.tau_end)
            loss = pairwise_info_nce({m: net.encode(m, tensors[m][index]) for m in names}, tau)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            result.log("A", step, loss.item(), loss.item(), float("nan"), tau)
            step += 1
        epochs.set_postfix(infonce=f"{loss.item():.3f}", tau=f"{tau:.3f}")
        if on_epoch_end:
            on_epoch_end("A", epoch, result)
    result.seconds["encoders"] = time.perf_counter() - started

    # Stage B: decoders (+ encoders fine-tuned at a lower rate, or frozen).
    finetune = schedule.finetune_encoders
    groups = [{"params": net.decoders.parameters()}]
    if finetune:
        groups.append({"params": net.encoders.parameters(),
                       "lr": setup.lr * setup.encoder_lr_scale})
    net.encoders.requires_grad_(finetune)
    optimizer = _optimizer(setup, groups)
    tau, started = setup.tau_end, time.perf_counter()
    epochs = tqdm(range(schedule.decoder_epochs), desc=f"{setup.setup} stage B (decoders)",
                  disable=not progress, unit="epoch")
    for epoch in epochs:
        net.decoders.train()
        net.encoders.train(finetune)
        for index in _batches(n, schedule.batch_size, generator):
            with torch.set_grad_enabled(finetune):
                latents = {m: net.encode(m, tensors[m][index]) for m in names}
            targets = {m: tensors[m][index] for m in names}
            recon = reconstruction({m: net.decode(m, latents[m]) for m in names}, targets)
            loss = recon
            if setup.cross_reconstruction_weight:
                loss = loss + setup.cross_reconstruction_weight * cross_reconstruction(
                    net.decoders, latents, targets)
            if finetune:
                contrastive = pairwise_info_nce(latents, tau)
                loss = loss + setup.contrastive_weight * contrastive
            else:
                contrastive = torch.tensor(float("nan"))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            result.log("B", step, loss.item(), contrastive.item(), recon.item(), tau)
            step += 1
        epochs.set_postfix(recon=f"{recon.item():.4f}")
        if on_epoch_end:
            on_epoch_end("B", epoch, result)
    result.seconds["decoders"] = time.perf_counter() - started
    net.requires_grad_(True)
    net.eval()
    return result
