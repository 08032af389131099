"""Numpy-in, numpy-out access to a trained latent action model (no ROS).

    model = LatentActionModel.load("models/latent/mimic_gripper")
    z = model.encode("mimic", joint_angles)          # [B, 16] -> [B, latent]
    width = model.decode("franka_gripper", z)        # [B, latent] -> [B, 1], within limits

Actions are in the embodiment's own units (rad, normalized width, metres); normalization is
applied inside. Decoded actions are clipped into the joint limits of config/embodiments/.
`encode`/`decode` at module level use one cached model per directory (default: the
embodiment's `latent.model_dir`).
"""
from __future__ import annotations

import functools
import os

import numpy as np
import torch

from lad_ros.embodiment import load_embodiment, resolve
from lad_ros.latent import store
from lad_ros.latent.networks import LatentActionNet
from lad_ros.latent.normalization import Normalizer


class LatentActionModel:
    def __init__(self, net: LatentActionNet, normalizers: dict[str, Normalizer],
                 meta: dict | None = None):
        self.net = net.eval()
        self.normalizers = normalizers
        self.meta = meta or {}
        self._limits = {}
        for name in net.action_dims:
            config = load_embodiment(name)
            if config.joints:
                self._limits[name] = (np.asarray(config.lower, np.float32),
                                      np.asarray(config.upper, np.float32))

    @classmethod
    def load(cls, model_dir: str | os.PathLike) -> "LatentActionModel":
        stored = store.load(model_dir)
        return cls(stored.net, stored.normalizers, stored.meta)

    @property
    def embodiments(self) -> tuple[str, ...]:
        return tuple(self.net.action_dims)

    @property
    def latent_dim(self) -> int:
        return self.net.latent_dim

    @property
    def setup(self) -> str:
        return self.meta.get("setup", "")

    def action_dim(self, embodiment: str) -> int:
        self._check_embodiment(embodiment)
        return self.net.action_dims[embodiment]

    def _check_embodiment(self, embodiment: str) -> None:
        if embodiment not in self.net.action_dims:
            raise KeyError(f"latent model {self.setup!r} has no embodiment {embodiment!r}; "
                           f"it has {list(self.embodiments)}")

    @staticmethod
    def _batch(array: np.ndarray, width: int, what: str) -> np.ndarray:
        array = np.asarray(array, dtype=np.float32)
        if array.ndim != 2 or array.shape[1] != width:
            raise ValueError(f"{what}: expected shape [B, {width}], got {list(array.shape)}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{what}: contains NaN or inf")
        return array

    def encode(self, embodiment: str, actions: np.ndarray) -> np.ndarray:
        """[B, action_dim] actions in the embodiment's units -> [B, latent_dim] unit latents."""
        self._check_embodiment(embodiment)
        actions = self._batch(actions, self.net.action_dims[embodiment],
                              f"encode({embodiment!r})")
        normalized = torch.from_numpy(self.normalizers[embodiment].normalize(actions))
        with torch.inference_mode():
            return self.net.encode(embodiment, normalized).numpy().astype(np.float32)

    def decode(self, embodiment: str, latents: np.ndarray) -> np.ndarray:
        """[B, latent_dim] -> [B, action_dim] in the embodiment's units, within its limits."""
        self._check_embodiment(embodiment)
        latents = self._batch(latents, self.latent_dim, f"decode({embodiment!r})")
        with torch.inference_mode():
            normalized = self.net.decode(embodiment, torch.from_numpy(latents)).numpy()
        actions = self.normalizers[embodiment].denormalize(normalized)
        if embodiment in self._limits:
            actions = np.clip(actions, *self._limits[embodiment])
        return actions.astype(np.float32)


@functools.lru_cache(maxsize=8)
def _cached(model_dir: str) -> LatentActionModel:
    return LatentActionModel.load(model_dir)


def cached_model(model_dir: str | os.PathLike) -> LatentActionModel:
    return _cached(str(resolve(model_dir)))


def _model_for(embodiment: str, model_dir: str | os.PathLike | None) -> LatentActionModel:
    if model_dir is None:
        latent = load_embodiment(embodiment).latent
        if latent is None:
            raise KeyError(f"config/embodiments/{embodiment}.yaml names no latent model; "
                           "pass model_dir")
        model_dir = latent.model_dir
    return cached_model(model_dir)


def encode(embodiment: str, actions: np.ndarray,
           model_dir: str | os.PathLike | None = None) -> np.ndarray:
    """Encode with the cached model of `model_dir` (default: the embodiment's configured one)."""
    return _model_for(embodiment, model_dir).encode(embodiment, actions)


def decode(embodiment: str, latents: np.ndarray,
           model_dir: str | os.PathLike | None = None) -> np.ndarray:
    """Decode with the cached model of `model_dir` (default: the embodiment's configured one)."""
    return _model_for(embodiment, model_dir).decode(embodiment, latents)
