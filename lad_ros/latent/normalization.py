"""Per-dimension standardization of actions, stored with the model and applied inside it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Dimensions that never vary (the human wrist keypoint is the origin of its own frame) keep a
# unit scale instead of dividing by ~0.
MIN_STD = 1e-6


@dataclass(frozen=True)
class Normalizer:
    mean: np.ndarray  # float32 [d]
    std: np.ndarray   # float32 [d], > 0

    @classmethod
    def fit(cls, actions: np.ndarray) -> "Normalizer":
        actions = np.asarray(actions, dtype=np.float64)
        std = actions.std(axis=0)
        std = np.where(std < MIN_STD, 1.0, std)
        return cls(actions.mean(axis=0).astype(np.float32), std.astype(np.float32))

    def normalize(self, actions: np.ndarray) -> np.ndarray:
        return ((actions - self.mean) / self.std).astype(np.float32)

    def denormalize(self, normalized: np.ndarray) -> np.ndarray:
        return (normalized * self.std + self.mean).astype(np.float32)
