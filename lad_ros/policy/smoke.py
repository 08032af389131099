"""A tiny policy on synthetic data: for tests and for trying the pipeline on a laptop.

    from lad_ros.policy.smoke import write_smoke_setup
    config_file = write_smoke_setup("out/smoke")   # synthetic datasets + policy.yaml
    # then: lad train-policy out/smoke/policy.yaml
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

import yaml

from lad_ros.data.synthetic import synthetic_dataset

IMAGE_SIZE = (32, 32)

TINY_POLICY = {
    "name": "smoke", "denoiser": "transformer", "horizon": 8, "fps": 10.0,
    "arm_action": "delta", "n_obs_steps": 2, "arm_pose_obs": True,
    "cameras": [{"name": "external"}], "image_size": list(IMAGE_SIZE),
    "crop_size": list(IMAGE_SIZE), "latent_model_dir": None,
    "datasets": [{"path": "data/faive", "weight": 1.0}],
    "encoder": {"width": 8, "feature_dim": 32},
    "transformer": {"layers": 2, "heads": 2, "width": 64, "dropout_attention": 0.0},
    "unet": {"down_dims": [32, 64, 128], "groups": 8, "step_embed_dim": 32},
    "diffusion": {"inference_steps": 10},
    "train": {"steps": 800, "batch_size": 16, "lr": 3.0e-3, "weight_decay": 0.0,
              "warmup_steps": 20, "checkpoint_every": 400},
    "threads": 1, "warmup_iterations": 0,
}


def tiny_policy(**overrides) -> dict:
    """TINY_POLICY with top-level keys replaced (nested sections are merged one level)."""
    config = copy.deepcopy(TINY_POLICY)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    return config


def write_smoke_setup(directory: str | os.PathLike, episodes: int = 1, frames: int = 16,
                      **overrides) -> Path:
    """Synthetic Faive dataset(s) + policy.yaml in `directory`; returns the config path."""
    directory = Path(directory)
    config = tiny_policy(**overrides)
    for i, dataset in enumerate(config["datasets"]):
        embodiment = Path(dataset["path"]).name
        cameras = [c["name"] for c in config["cameras"]
                   if c.get("embodiments") is None or embodiment in c["embodiments"]]
        synthetic_dataset(directory / dataset["path"], embodiment, episodes=episodes,
                          frames=frames, image_size=tuple(config["image_size"]),
                          cameras=tuple(cameras), seed=100 * i)
    path = directory / "policy.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
