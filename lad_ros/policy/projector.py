"""Projection of hand actions into the policy's action space.

Anything with `latent_dim`, `encode(embodiment, actions[B, d]) -> [B, latent_dim]` and
`decode(embodiment, z) -> actions` (numpy float32) works: the latent action model of stage 3
(`lad_ros.latent.api.LatentActionModel`), or `JointSpaceProjector` for the single-embodiment
baseline without a latent space. Training needs only `encode`; the policy's output stays in
the latent space and the decoder node turns it into joint commands.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np

from lad_ros.config import ConfigError
from lad_ros.embodiment import load_embodiment, resolve


class ActionProjector(Protocol):
    latent_dim: int

    def encode(self, embodiment: str, actions: np.ndarray) -> np.ndarray: ...

    def decode(self, embodiment: str, latents: np.ndarray) -> np.ndarray: ...


class JointSpaceProjector:
    """Identity for one embodiment: the policy predicts its joint-space actions directly."""

    def __init__(self, embodiment: str):
        self.embodiment = embodiment
        self.latent_dim = load_embodiment(embodiment).action_dim

    def _check(self, embodiment: str) -> None:
        if embodiment != self.embodiment:
            raise ValueError(f"a joint-space policy serves only '{self.embodiment}', not "
                             f"'{embodiment}' (set latent_model_dir to co-train embodiments)")

    def encode(self, embodiment: str, actions: np.ndarray) -> np.ndarray:
        self._check(embodiment)
        return np.asarray(actions, dtype=np.float32)

    def decode(self, embodiment: str, latents: np.ndarray) -> np.ndarray:
        self._check(embodiment)
        return np.asarray(latents, dtype=np.float32)


def load_projector(latent_model_dir: str | None, embodiments: list[str],
                   config_file: str) -> ActionProjector:
    """The projector a policy config asks for, checked against the datasets' embodiments."""
    if latent_model_dir is None:
        if len(set(embodiments)) != 1:
            raise ConfigError(config_file, "latent_model_dir",
                              "a latent action model to co-train several embodiments",
                              sorted(set(embodiments)))
        return JointSpaceProjector(embodiments[0])
    from lad_ros.latent.api import LatentActionModel  # lazy: torch-free configs stay light
    model = LatentActionModel.load(str(resolve(latent_model_dir)))
    missing = sorted(set(embodiments) - set(model.embodiments))
    if missing:
        raise ConfigError(config_file, "latent_model_dir",
                          f"a latent model covering {missing} (it has {model.embodiments})",
                          latent_model_dir)
    return model
