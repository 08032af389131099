"""Synthetic aligned tuples for tests and for running the pipeline without retargeted data.

A shared pose (closure c in [0, 1], finger spread u, thumb opposition v) is pushed through
fixed nonlinear maps into every embodiment's action space and units, so the tuples are
aligned the way retargeted data is: closing the hand flexes the robot fingers and closes the
gripper (with a saturated, many-to-one gripper width, as eq. 6 produces).
"""
from __future__ import annotations

import numpy as np

from lad_ros.embodiment import load_embodiment

_MAP_SEED = 20250617  # fixed: the maps are part of the synthetic "world", not of a sample


def _features(c: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.stack([c, u, v, c * u, c * v, np.sin(np.pi * c), u * v], axis=1)


def _human(features: np.ndarray, c: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    n = len(c)
    # Rest pose: five fingers fanned out along +y, four points each, ~2.5 cm apart.
    rest = np.zeros((21, 3))
    for finger in range(5):
        for joint in range(4):
            rest[1 + 4 * finger + joint] = [0.02 * (finger - 2), 0.03 + 0.025 * joint, 0.0]
    curl = np.zeros((n, 21, 3))
    depth = np.tile(np.arange(1, 5), 5) / 4.0
    curl[:, 1:, 2] = -0.06 * c[:, None] * depth[None, :]      # fingertips move into the palm
    curl[:, 1:, 1] = -0.04 * (c[:, None] * depth[None, :]) ** 2
    mix = rng.normal(scale=0.01, size=(features.shape[1], 63))
    mix[:, :3] = 0.0                                            # the wrist is the frame origin
    return (rest.reshape(1, 63) + curl.reshape(n, 63) + np.tanh(features @ mix))


def _hand(name: str, features: np.ndarray, c: np.ndarray,
          rng: np.random.RandomState) -> np.ndarray:
    config = load_embodiment(name)
    lower, upper = np.asarray(config.lower), np.asarray(config.upper)
    mix = rng.normal(scale=0.4, size=(features.shape[1], len(lower)))
    flexion = np.array([0.0 if "thumb" in j or "base2mcp" in j else 1.0
                        for j in config.joint_names])
    logits = 3.0 * (c[:, None] - 0.5) * (0.3 + flexion) + features @ mix
    return lower + (upper - lower) * (0.05 + 0.9 / (1.0 + np.exp(-logits)))


def synthetic_aligned(n: int, seed: int) -> dict[str, np.ndarray]:
    """Aligned tuples like `lad_ros.retarget.dataset.generate_aligned`, float32."""
    sample = np.random.RandomState(seed)
    c, u, v = sample.uniform(0, 1, n), sample.uniform(-1, 1, n), sample.uniform(-1, 1, n)
    features = _features(c, u, v)
    maps = np.random.RandomState(_MAP_SEED)
    data = {"human": _human(features, c, maps),
            "faive": _hand("faive", features, c, maps),
            "mimic": _hand("mimic", features, c, maps)}
    width = 1.15 * (1.0 - c) - 0.1 + 0.1 * v * (1.0 - c)
    data["franka_gripper"] = np.clip(width, 0.0, 1.0)[:, None]
    for name, values in data.items():
        noise = sample.normal(scale=1e-3, size=values.shape)
        data[name] = (values + noise).astype(np.float32)
    data["franka_gripper"] = np.clip(data["franka_gripper"], 0.0, 1.0)
    data["pose_family"] = np.zeros(n, dtype=np.int16)
    return data
