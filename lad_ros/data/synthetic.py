"""Synthetic episodes whose images encode the state, so a policy can learn from them.

A phase advances at a constant rate; the hand command, the arm pose and a bright square in each
camera image are all functions of it. Used by the tests, the policy benchmark and smoke runs of
`lad train-policy` before real recordings exist.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from lad_ros.data.episodes import write_episode
from lad_ros.embodiment import load_embodiment


def render_square(phase: float, size: tuple[int, int], shade: int) -> np.ndarray:
    """A square on a circle at angle `phase`, on a background whose colour also follows the
    phase (so even a tiny encoder sees the state)."""
    height, width = size
    background = (128 + 90 * np.sin(phase), 128 + 90 * np.cos(phase), 60)
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = np.array(background, dtype=np.uint8)
    side = max(2, min(height, width) // 5)
    cy = int((0.5 + 0.3 * np.sin(phase)) * (height - side))
    cx = int((0.5 + 0.3 * np.cos(phase)) * (width - side))
    image[cy:cy + side, cx:cx + side] = (255, shade, 255 - shade)
    return image


def synthetic_episode(path: str | os.PathLike, embodiment: str, frames: int = 30,
                      fps: float = 10.0, image_size: tuple[int, int] = (32, 32),
                      cameras: tuple[str, ...] = ("external",), seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    config = load_embodiment(embodiment)
    phase = rng.uniform(0, 2 * np.pi) + np.arange(frames) * 0.25
    dim = config.action_dim
    if config.kind == "human_hand":
        lower, upper = np.full(dim, -0.1), np.full(dim, 0.1)
    else:
        lower, upper = np.asarray(config.lower), np.asarray(config.upper)
    offsets = np.linspace(0, np.pi, dim)
    hand = lower + (upper - lower) * (0.5 + 0.4 * np.sin(phase[:, None] + offsets))
    position = np.stack([0.4 + 0.1 * np.cos(phase), 0.1 * np.sin(phase),
                         0.3 + 0.05 * np.sin(2 * phase)], axis=1)
    rotation = Rotation.from_euler("xyz", np.stack(
        [np.full(frames, np.pi), 0.2 * np.sin(phase), 0.3 * np.cos(phase)], axis=1))
    arm_pose = np.concatenate([position, rotation.as_quat()], axis=1)
    stamps = 1_700_000_000_000_000_000 + (np.arange(frames) * 1e9 / fps).astype(np.int64)
    images = {camera: np.stack([render_square(p + 0.5 * c, image_size, 60 * c % 256)
                                for p in phase])
              for c, camera in enumerate(cameras)}
    return write_episode(path, embodiment, fps, stamps, arm_pose, hand, images)


def synthetic_dataset(path: str | os.PathLike, embodiment: str, episodes: int = 2,
                      seed: int = 0, **kwargs) -> Path:
    path = Path(path)
    for i in range(episodes):
        synthetic_episode(path / f"episode_{i:04d}", embodiment, seed=seed + i, **kwargs)
    return path
