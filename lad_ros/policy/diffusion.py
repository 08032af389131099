"""Noise schedules from `diffusers`: DDPM to train, DDIM to sample (same betas).

Squared-cosine schedule, 100 training steps, epsilon prediction, samples clipped to [-1, 1]
(the normalized action range), as in the paper and Chi et al.
"""
from __future__ import annotations

import torch
from diffusers import DDIMScheduler, DDPMScheduler

from lad_ros.policy.config import DiffusionSpec


def _schedule_arguments(spec: DiffusionSpec) -> dict:
    return dict(num_train_timesteps=spec.train_steps, beta_start=1e-4, beta_end=0.02,
                beta_schedule=spec.beta_schedule, clip_sample=spec.clip_sample,
                prediction_type="epsilon")


def training_scheduler(spec: DiffusionSpec) -> DDPMScheduler:
    return DDPMScheduler(**_schedule_arguments(spec), variance_type="fixed_small")


def inference_scheduler(spec: DiffusionSpec) -> DDIMScheduler:
    return DDIMScheduler(**_schedule_arguments(spec), set_alpha_to_one=True, steps_offset=0)


def diffusion_loss(model, scheduler: DDPMScheduler, actions: torch.Tensor, cond: torch.Tensor,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Epsilon-prediction MSE for normalized action chunks [B, H, A]."""
    # drawn on the CPU (where the training generator lives), then moved: same code on CUDA
    noise = torch.randn(actions.shape, generator=generator).to(actions.device)
    steps = torch.randint(0, scheduler.config.num_train_timesteps, (actions.shape[0],),
                          generator=generator).to(actions.device)
    noisy = scheduler.add_noise(actions, noise, steps)
    return torch.nn.functional.mse_loss(model(noisy, steps, cond), noise)


def sample_actions(model, scheduler: DDIMScheduler, cond: torch.Tensor, shape: tuple,
                   inference_steps: int, generator: torch.Generator | None = None
                   ) -> torch.Tensor:
    """Denoise pure noise into a normalized action chunk of `shape` [B, H, A]."""
    sample = torch.randn(shape, generator=generator, device=cond.device)
    scheduler.set_timesteps(inference_steps, device=cond.device)
    for t in scheduler.timesteps:
        steps = t.expand(shape[0]) if t.ndim == 0 else t
        sample = scheduler.step(model(sample, steps, cond), t, sample).prev_sample
    return sample
