"""Policy training: co-trained batches, DDPM loss, AdamW/Adam + cosine LR with warm-up, EMA.

A run directory holds:
    checkpoint/   the latest state (model directory files + raw weights + optimizer state),
                  written every `train.checkpoint_every` steps and at the end; `resume` continues
    model/        the exported policy (EMA weights): what PolicyRunner loads
    loss.png, loss.csv
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from diffusers.optimization import get_cosine_schedule_with_warmup
from tqdm import tqdm

from lad_ros.config import ConfigError
from lad_ros.data.episodes import load_dataset
from lad_ros.policy.batches import Batch, TrainingData, check_cameras
from lad_ros.policy.checkpoint import load_policy, load_weights, save_policy, save_weights
from lad_ros.policy.config import PolicyConfig
from lad_ros.policy.diffusion import diffusion_loss, training_scheduler
from lad_ros.policy.ema import EMA
from lad_ros.policy.model import LatentDiffusionPolicy, crop_images
from lad_ros.policy.normalizer import Normalizer
from lad_ros.policy.projector import ActionProjector, load_projector

RAW_WEIGHTS, TRAIN_STATE = "train_weights.safetensors", "train_state.pt"
RESUME_MAY_CHANGE = ("train", "datasets", "threads", "warmup_iterations", "precision")


@dataclass
class TrainResult:
    run_dir: Path
    model_dir: Path
    losses: list[float]
    steps: int


def dataset_path(config_file: str | os.PathLike, path: str) -> Path:
    """Dataset paths in a policy config are absolute or relative to the config file."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else Path(config_file).resolve().parent / path


def load_training_data(config: PolicyConfig, config_file: str,
                       projector: ActionProjector | None) -> TrainingData:
    if not config.datasets:
        raise ConfigError(config_file, "datasets", "at least one dataset to train on", [])
    datasets = [load_dataset(dataset_path(config_file, d.path)) for d in config.datasets]
    for spec, episodes in zip(config.datasets, datasets):
        check_cameras(config, episodes, spec.path)
    embodiments = [episodes[0].embodiment for episodes in datasets]
    if projector is None:
        projector = load_projector(config.latent_model_dir, embodiments, config_file)
    return TrainingData(config, datasets, [d.weight for d in config.datasets], projector,
                        config.train.seed)


def observation_condition(model: LatentDiffusionPolicy, batch: Batch,
                          generator: torch.Generator | None) -> torch.Tensor:
    """Crop (randomly when a generator is given) and encode a batch's observations."""
    device = next(model.parameters()).device
    images = []
    for camera_images in batch.images:
        b, t = camera_images.shape[:2]
        cropped = crop_images(camera_images.flatten(0, 1), model.config.crop_size, generator)
        images.append(cropped.reshape(b, t, *cropped.shape[1:]).to(device))
    return model.encode_observations(images, batch.camera_mask.to(device),
                                     batch.arm_pose_obs.to(device))


def _optimizer(config: PolicyConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    t = config.train
    kind = torch.optim.AdamW if t.optimizer == "adamw" else torch.optim.Adam
    return kind(model.parameters(), lr=t.lr, betas=(0.95, 0.999), weight_decay=t.weight_decay)


def save_loss_curve(run_dir: Path, losses: list[float]) -> None:
    np.savetxt(run_dir / "loss.csv", np.column_stack([np.arange(len(losses)), losses]),
               delimiter=",", header="step,loss", comments="", fmt=["%d", "%.6g"])
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, axis = plt.subplots(figsize=(7, 4))
    axis.semilogy(losses, alpha=0.35, label="loss")
    window = max(1, len(losses) // 50)
    if len(losses) >= window:
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        axis.semilogy(np.arange(window - 1, len(losses)), smooth, label=f"mean of {window}")
    axis.set_xlabel("step")
    axis.set_ylabel("diffusion loss (MSE on noise)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(run_dir / "loss.png", dpi=100)
    plt.close(figure)


def _save_checkpoint(directory: Path, model, ema: EMA, normalizer: Normalizer,
                     embodiments: list[str], optimizer, lr_schedule, step: int,
                     losses: list[float]) -> None:
    save_policy(directory, ema.model, normalizer, embodiments)
    save_weights(directory / RAW_WEIGHTS, model)
    state = {"step": step, "ema_step": ema.step, "losses": torch.tensor(losses),
             "optimizer": optimizer.state_dict(), "lr_schedule": lr_schedule.state_dict()}
    torch.save(state, directory / (TRAIN_STATE + ".tmp"))
    os.replace(directory / (TRAIN_STATE + ".tmp"), directory / TRAIN_STATE)


def train_policy(config: PolicyConfig, config_file: str, run_dir: str | os.PathLike, *,
                 projector: ActionProjector | None = None, resume: bool = False,
                 progress: bool = True, device: str = "cpu") -> TrainResult:
    run_dir = Path(run_dir)
    checkpoint = run_dir / "checkpoint"
    torch.manual_seed(config.train.seed)
    data = load_training_data(config, config_file, projector)
    embodiments = [episodes[0].embodiment for episodes in data.datasets]
    model = LatentDiffusionPolicy(config, data.projector.latent_dim).to(device)
    optimizer = _optimizer(config, model)
    lr_schedule = get_cosine_schedule_with_warmup(optimizer, config.train.warmup_steps,
                                                  config.train.steps)
    ema = EMA(model, config.train.ema_max_decay, config.train.ema_power)
    step, losses = 0, []
    if resume and (checkpoint / TRAIN_STATE).is_file():
        saved = load_policy(checkpoint)
        free = dict.fromkeys(RESUME_MAY_CHANGE)
        if saved.config.to_dict() | free != config.to_dict() | free:
            raise ConfigError(config_file, "<config>", "the configuration the checkpoint in "
                              f"{checkpoint} was trained with (only {RESUME_MAY_CHANGE} may "
                              "change)")
        load_weights(checkpoint / RAW_WEIGHTS, model)
        ema.model.load_state_dict(saved.model.state_dict())
        data.normalizer = saved.normalizer
        state = torch.load(checkpoint / TRAIN_STATE, weights_only=True)
        optimizer.load_state_dict(state["optimizer"])
        lr_schedule.load_state_dict(state["lr_schedule"])
        step, ema.step, losses = state["step"], state["ema_step"], state["losses"].tolist()
    scheduler = training_scheduler(config.diffusion)
    generator = torch.Generator().manual_seed(config.train.seed + step)
    model.train()
    bar = tqdm(total=config.train.steps, initial=step, disable=not progress, desc="policy",
               dynamic_ncols=True)
    while step < config.train.steps:
        batch = data.batch()
        cond = observation_condition(model, batch, generator)
        loss = diffusion_loss(model, scheduler, batch.actions.to(device), cond, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        lr_schedule.step()
        ema.update(model)
        step += 1
        losses.append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{losses[-1]:.4f}", lr=f"{lr_schedule.get_last_lr()[0]:.2e}")
        if step % config.train.checkpoint_every == 0 or step == config.train.steps:
            _save_checkpoint(checkpoint, model, ema, data.normalizer, embodiments, optimizer,
                             lr_schedule, step, losses)
    bar.close()
    model_dir = run_dir / "model"
    save_policy(model_dir, ema.model, data.normalizer, embodiments)
    save_loss_curve(run_dir, losses)
    return TrainResult(run_dir, model_dir, losses, step)
