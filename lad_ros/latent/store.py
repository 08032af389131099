"""The shipped model format: models/latent/<setup>/{model.safetensors, model.json}.

model.json carries everything needed to rebuild and check the network (dims, joint names,
units, hidden sizes, normalization), the hyperparameters it was trained with, the git revision
and its measured metrics; model.safetensors carries the weights, pinned by size and sha256 so a
truncated or swapped file is caught before any tensor is read. Every problem raises ConfigError
naming the file, the field and what was expected.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lad_ros.config import ConfigError, Fields
from lad_ros.embodiment import KNOWN_EMBODIMENTS, load_embodiment, resolve
from lad_ros.latent.networks import LatentActionNet
from lad_ros.latent.normalization import Normalizer

FORMAT = "lad_ros.latent/1"
CONFIG_FILE, WEIGHTS_FILE = "model.json", "model.safetensors"
UNITS = {"human_hand": "m (keypoint xyz, wrist frame)", "dexterous_hand": "rad",
         "parallel_gripper": "normalized width (0 closed, 1 open)"}


def action_names(embodiment: str) -> list[str]:
    config = load_embodiment(embodiment)
    if config.kind == "human_hand":
        return [f"{k}.{axis}" for k in config.keypoints for axis in "xyz"]
    return config.joint_names


def git_revision() -> str:
    try:
        root = Path(__file__).resolve().parents[2]
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "lad_ros/latent",
                                "config/latent"], cwd=root, capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class StoredModel:
    net: LatentActionNet
    normalizers: dict[str, Normalizer]
    meta: dict


def save(model_dir: str | os.PathLike, net: LatentActionNet,
         normalizers: dict[str, Normalizer], meta: dict) -> Path:
    """Write weights and JSON. `meta` needs setup, dropout, input_layernorm, hidden,
    hyperparameters, metrics, training; dims, names, units and checksums are added here."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    weights = model_dir / WEIGHTS_FILE
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(weights), metadata={"format": FORMAT})
    weights.chmod(0o644)  # readable by the robot user after an install, like model.json
    document = {
        "format": FORMAT,
        "setup": meta["setup"],
        "latent_dim": net.latent_dim,
        "dropout": meta["dropout"],
        "input_layernorm": meta["input_layernorm"],
        "embodiments": {
            name: {"action_dim": dim, "action_names": action_names(name),
                   "units": UNITS[KNOWN_EMBODIMENTS[name]["kind"]],
                   "hidden": list(meta["hidden"][name]),
                   "normalization": {"kind": "standardize",
                                     "mean": normalizers[name].mean.tolist(),
                                     "std": normalizers[name].std.tolist()}}
            for name, dim in net.action_dims.items()},
        "hyperparameters": meta["hyperparameters"],
        "training": meta["training"],
        "metrics": meta["metrics"],
        "git_revision": meta.get("git_revision") or git_revision(),
        "weights": {"file": WEIGHTS_FILE, "bytes": weights.stat().st_size,
                    "sha256": _sha256(weights)},
    }
    (model_dir / CONFIG_FILE).write_text(json.dumps(document, indent=1) + "\n")
    return model_dir


def _read_json(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(path), "<file>", "an existing file (is the model directory "
                          "right? train one with `lad train-latent`)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), "<file>", f"valid JSON ({error}); the file may be "
                          "truncated") from None
    if not isinstance(document, dict):
        raise ConfigError(str(path), "<top level>", "a mapping", type(document).__name__)
    return document


def _finite_vector(fields: Fields, key: str, length: int) -> np.ndarray:
    values = np.asarray(fields.vector(key, length), dtype=np.float32)
    if not np.all(np.isfinite(values)):
        raise fields.error(key, "finite numbers")
    return values


def _embodiment_entry(fields: Fields, name: str) -> tuple[int, tuple, Normalizer]:
    if name not in KNOWN_EMBODIMENTS:
        raise fields.error(name, f"an embodiment from {sorted(KNOWN_EMBODIMENTS)}", "unknown")
    entry = fields.sub(name)
    dim = entry.req("action_dim", int)
    expected_dim = load_embodiment(name).action_dim
    if dim != expected_dim:
        raise entry.error("action_dim", f"{expected_dim} (config/embodiments/{name}.yaml)", dim)
    names = list(entry.vector("action_names", dim, str))
    if names != action_names(name):
        raise entry.error("action_names", f"the joint/keypoint names of config/embodiments/"
                          f"{name}.yaml in order {action_names(name)}", names)
    hidden = entry.vector("hidden", kind=int)
    if not hidden or min(hidden) < 1:
        raise entry.error("hidden", "a non-empty list of positive layer sizes", list(hidden))
    norm = entry.sub("normalization")
    norm.choice("kind", ("standardize",))
    mean, std = _finite_vector(norm, "mean", dim), _finite_vector(norm, "std", dim)
    if np.any(std <= 0):
        raise norm.error("std", "positive numbers", std.tolist())
    return dim, hidden, Normalizer(mean, std)


def _load_weights(path: Path, weights_meta: Fields) -> dict[str, torch.Tensor]:
    expected_bytes = weights_meta.req("bytes", int)
    expected_sha = weights_meta.req("sha256", str)
    if not path.is_file():
        raise ConfigError(str(path), "<file>", "an existing weights file next to model.json")
    size = path.stat().st_size
    if size != expected_bytes:
        raise ConfigError(str(path), "<file>", f"{expected_bytes} bytes as recorded in "
                          f"model.json (truncated or replaced?)", size)
    if _sha256(path) != expected_sha:
        raise ConfigError(str(path), "<file>", f"sha256 {expected_sha} as recorded in "
                          "model.json (the weights do not belong to this model.json)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as error:
        raise ConfigError(str(path), "<file>", f"a readable safetensors file ({error})") from None


def load(model_dir: str | os.PathLike) -> StoredModel:
    model_dir = resolve(model_dir)
    config_path = model_dir / CONFIG_FILE
    top = Fields(str(config_path), _read_json(config_path))
    if top.req("format", str) != FORMAT:
        raise top.error("format", repr(FORMAT), top.data["format"])
    setup = top.req("setup", str)
    if not setup or not all(c.isalnum() or c == "_" for c in setup):
        raise top.error("setup", "a setup name of letters, digits and '_'", setup)
    latent_dim = top.req("latent_dim", int)
    if latent_dim < 1:
        raise top.error("latent_dim", "an integer >= 1", latent_dim)
    embodiments = top.sub("embodiments")
    if len(embodiments.data) < 2:
        raise top.error("embodiments", "at least two embodiments", list(embodiments.data))
    dims, hidden, normalizers = {}, {}, {}
    for name in embodiments.data:
        dims[name], hidden[name], normalizers[name] = _embodiment_entry(embodiments, name)
    dropout = top.number("dropout", minimum=0.0, maximum=0.9)
    net = LatentActionNet(dims, hidden, latent_dim, dropout, top.req("input_layernorm", bool))
    weights_path = model_dir / WEIGHTS_FILE
    state = _load_weights(weights_path, top.sub("weights"))
    expected = net.state_dict()
    for key, tensor in expected.items():
        if key not in state:
            raise ConfigError(str(weights_path), key, f"a tensor of shape {list(tensor.shape)} "
                              "(missing: weights and model.json disagree)")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise ConfigError(str(weights_path), key, f"shape {list(tensor.shape)}",
                              list(state[key].shape))
        if not torch.isfinite(state[key]).all():
            raise ConfigError(str(weights_path), key, "finite values")
    unexpected = sorted(set(state) - set(expected))
    if unexpected:
        raise ConfigError(str(weights_path), unexpected[0], "no tensors beyond the network "
                          "model.json describes", f"{len(unexpected)} unexpected tensors")
    net.load_state_dict(state)
    net.eval()
    for key in ("hyperparameters", "training", "metrics"):
        top.sub(key)
    return StoredModel(net, normalizers, top.data)
