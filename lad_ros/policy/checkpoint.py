"""A policy model directory: model.safetensors + config.json + normalization.json.

    model.safetensors   the (EMA) weights
    config.json         {"format": "lad_ros.policy", "version": 1, "latent_dim": d,
                         "embodiments": [...], "policy": {the full policy config}}
    normalization.json  per group (embodiment or "all"): min/max of "latent", "arm",
                        "arm_pose_obs"

Loading validates all three; a truncated or mismatched file fails with a ConfigError naming
the file, the field (or weight) and what was expected.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lad_ros.config import ConfigError, Fields
from lad_ros.policy.config import PolicyConfig, policy_config_from_dict, read_json
from lad_ros.policy.model import ARM_POSE_OBS_DIM, LatentDiffusionPolicy
from lad_ros.policy.normalizer import Normalizer

FORMAT, VERSION = "lad_ros.policy", 1
WEIGHTS, CONFIG, NORMALIZATION = "model.safetensors", "config.json", "normalization.json"


@dataclass
class LoadedPolicy:
    model: LatentDiffusionPolicy
    config: PolicyConfig
    normalizer: Normalizer
    embodiments: list[str]
    path: Path


def _write_atomically(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def save_weights(path: Path, module: torch.nn.Module) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    _write_atomically(Path(path), lambda tmp: save_file(state, str(tmp)))


def save_policy(directory: str | os.PathLike, model: LatentDiffusionPolicy,
                normalizer: Normalizer, embodiments: list[str]) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    info = {"format": FORMAT, "version": VERSION, "latent_dim": model.latent_dim,
            "embodiments": sorted(set(embodiments)), "policy": model.config.to_dict()}
    _write_atomically(directory / CONFIG, lambda tmp: tmp.write_text(
        json.dumps(info, indent=1), encoding="utf-8"))
    _write_atomically(directory / NORMALIZATION, lambda tmp: tmp.write_text(
        normalizer.to_json(), encoding="utf-8"))
    save_weights(directory / WEIGHTS, model)
    return directory


def load_weights(path: Path, module: torch.nn.Module) -> None:
    """Load a safetensors file into a module; every key and shape must match."""
    try:
        state = load_file(str(path))
    except FileNotFoundError:
        raise ConfigError(str(path), "<file>", "an existing safetensors file") from None
    except (SafetensorError, OSError, ValueError) as error:
        raise ConfigError(str(path), "<file>",
                          f"a complete safetensors file ({error})") from None
    expected = module.state_dict()
    for key, tensor in expected.items():
        if key not in state:
            raise ConfigError(str(path), key, f"a tensor of shape {list(tensor.shape)} "
                              "(weight is missing: a checkpoint of another model?)")
        if state[key].shape != tensor.shape:
            raise ConfigError(str(path), key, f"shape {list(tensor.shape)}",
                              list(state[key].shape))
    unexpected = sorted(set(state) - set(expected))
    if unexpected:
        raise ConfigError(str(path), unexpected[0], "no such weight in this model "
                          f"({len(unexpected)} unexpected weights)")
    module.load_state_dict(state)


def read_info(directory: Path) -> tuple[PolicyConfig, int, list[str]]:
    file = directory / CONFIG
    data = read_json(file, " (is this a policy model directory?)")
    info = Fields(str(file), data)
    info.keys_known({"format", "version", "latent_dim", "embodiments", "policy"})
    if info.req("format", str) != FORMAT:
        raise info.error("format", repr(FORMAT), data["format"])
    if info.req("version", int) != VERSION:
        raise info.error("version", str(VERSION), data["version"])
    latent_dim = info.req("latent_dim", int)
    if latent_dim < 1:
        raise info.error("latent_dim", "an integer >= 1", latent_dim)
    embodiments = list(info.vector("embodiments", None, str))
    config = policy_config_from_dict(info.sub("policy").data, str(file), "policy")
    return config, latent_dim, embodiments


def load_policy(directory: str | os.PathLike, device: str | torch.device = "cpu"
                ) -> LoadedPolicy:
    directory = Path(directory)
    config, latent_dim, embodiments = read_info(directory)
    normalizer = Normalizer.load(str(directory / NORMALIZATION),
                                 {"latent": latent_dim, "arm": config.arm_dim,
                                  "arm_pose_obs": ARM_POSE_OBS_DIM})
    model = LatentDiffusionPolicy(config, latent_dim)
    load_weights(directory / WEIGHTS, model)
    return LoadedPolicy(model.to(device).eval(), config, normalizer, embodiments, directory)
