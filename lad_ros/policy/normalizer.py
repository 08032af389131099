"""Per-dimension min/max normalization to [-1, 1], one set of statistics per group.

With the paper's co-training rule (§6.5) each dataset's sub-batch is normalized with its own
statistics (group = the dataset's embodiment); `shared` normalization uses one group "all".
A dimension that never varies maps to 0 instead of dividing by ~0.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from lad_ros.config import Fields
from lad_ros.policy.config import read_json

SHARED_GROUP = "all"
_MIN_RANGE = 1e-4


@dataclass(frozen=True)
class RangeStats:
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray) -> "RangeStats":
        flat = values.reshape(-1, values.shape[-1])
        return cls(flat.min(axis=0).astype(np.float32), flat.max(axis=0).astype(np.float32))

    def _centre_scale(self):
        span = self.high - self.low
        scale = np.where(span > _MIN_RANGE, 2.0 / np.maximum(span, _MIN_RANGE), 1.0)
        return (self.high + self.low) / 2, scale.astype(np.float32)

    def normalize(self, values: np.ndarray) -> np.ndarray:
        centre, scale = self._centre_scale()
        return ((values - centre) * scale).astype(np.float32)

    def unnormalize(self, values: np.ndarray) -> np.ndarray:
        centre, scale = self._centre_scale()
        return (values / scale + centre).astype(np.float32)


class Normalizer:
    """group (embodiment or "all") -> key ("latent", "arm", "arm_pose_obs") -> RangeStats."""

    def __init__(self, stats: dict[str, dict[str, RangeStats]]):
        self.stats = stats

    def get(self, group: str, key: str) -> RangeStats:
        if group not in self.stats:
            group = SHARED_GROUP if SHARED_GROUP in self.stats else group
        if group not in self.stats:
            raise KeyError(f"no normalization statistics for '{group}'; the policy was trained "
                           f"on {sorted(self.stats)}")
        return self.stats[group][key]

    def to_json(self) -> str:
        return json.dumps({g: {k: {"min": s.low.tolist(), "max": s.high.tolist()}
                               for k, s in keys.items()} for g, keys in self.stats.items()},
                          indent=1)

    @classmethod
    def load(cls, path: str, dims: dict[str, int]) -> "Normalizer":
        """Read normalization.json, checking every group has each key with `dims[key]` values."""
        data = read_json(path)
        top = Fields(path, data)
        if not data:
            raise top.error("<groups>", "statistics for at least one group", data)
        stats = {}
        for group in data:
            keys = top.sub(group)
            stats[group] = {}
            for key, dim in dims.items():
                entry = keys.sub(key)
                low, high = entry.vector("min", dim), entry.vector("max", dim)
                if any(lo > hi for lo, hi in zip(low, high)):
                    raise entry.error("min", "min <= max in every dimension", list(low))
                stats[group][key] = RangeStats(np.array(low, np.float32),
                                               np.array(high, np.float32))
        return cls(stats)
