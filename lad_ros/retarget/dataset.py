"""Aligned action tuples (LAD stage 1): synthetic human poses and their retargeted robot actions.

Contract with the latent model (lad_ros/latent): `generate_aligned` returns, for n samples,
  "human"          float32 [n, 63]  21 keypoints × xyz (row-major), metres, in the canonical
                                    palm frame (`keyvectors.canonical_keypoints`): wrist at the
                                    origin, x to the middle MCP, z the palm normal (palm side)
  "faive"          float32 [n, 11]  radians, config/embodiments/faive.yaml joint order
  "mimic"          float32 [n, 16]  radians, config/embodiments/mimic.yaml joint order
  "franka_gripper" float32 [n, 1]   normalized width in [0, 1]
  "pose_family"    int16   [n]      index into POSE_FAMILIES (meta["pose_families"])
stored as .npz with a JSON "meta" entry; `load_aligned` validates everything it returns.
"""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np

from lad_ros.config import ConfigError
from lad_ros.embodiment import load_embodiment
from lad_ros.retarget.human import POSE_FAMILIES, HumanHandModel
from lad_ros.retarget.keyvectors import KEYVECTOR_NAMES, canonical_keypoints
from lad_ros.retarget.retargeter import GripperRetargeter, HandRetargeter

FORMAT_VERSION = 1
ACTION_KEYS = ("human", "faive", "mimic", "franka_gripper")
WIDTHS = {"human": 63, "faive": 11, "mimic": 16, "franka_gripper": 1}
JOINT_TOLERANCE = 1e-4  # float32 rounding of values clamped to the limits


def git_revision() -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent,
                                capture_output=True, text=True, timeout=5, check=True)
        return result.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def generate_aligned(n: int, seed: int, progress: bool = False) -> dict[str, np.ndarray]:
    """n synthetic human hands retargeted to Faive, mimic and the gripper; deterministic in seed."""
    if n < 1:
        raise ValueError(f"generate_aligned: n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=3 * n, unit="pose", desc="retarget", dynamic_ncols=True)
    update = bar.update if bar is not None else None
    try:
        keypoints, families = HumanHandModel().sample(n, rng)
        if bar is not None:
            bar.update(n)
        # Stored in the palm frame so that run-time keypoints from any tracker, passed through
        # the same canonical_keypoints, match the training data.
        data = {"human": canonical_keypoints(keypoints).reshape(n, 63).astype(np.float32)}
        for hand in ("faive", "mimic"):
            data[hand] = HandRetargeter.for_hand(hand).retarget(keypoints, progress=update)
        data["franka_gripper"] = GripperRetargeter().retarget(keypoints)
        data["pose_family"] = families.astype(np.int16)
    finally:
        if bar is not None:
            bar.close()
    return data


def generation_meta(seed: int, n: int) -> dict:
    from lad_ros.retarget.retargeter import load_gripper_width_m, load_hand_settings
    hands = {hand: dict(zip(KEYVECTOR_NAMES, load_hand_settings(hand).scales.tolist()))
             for hand in ("faive", "mimic")}
    return {"format_version": FORMAT_VERSION, "seed": seed, "n": n,
            "human_frame": "palm: origin at the wrist, x towards the middle MCP, z normal to "
                           "(wrist, index MCP, pinky MCP) on the palm side, y = z x x; metres",
            "pose_families": list(POSE_FAMILIES), "scale_factors": hands,
            "gripper_standard_width_m": load_gripper_width_m(), "git_revision": git_revision()}


def save_aligned(path: str | os.PathLike, data: dict[str, np.ndarray], meta: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as stream:  # an open file keeps np.savez from appending ".npz"
        np.savez(stream, meta=np.array(json.dumps(meta)), **data)


def load_aligned(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """Read and validate an aligned dataset; any problem is a ConfigError naming the field."""
    file = str(path)
    try:
        archive = np.load(file, allow_pickle=False)
    except FileNotFoundError:
        raise ConfigError(file, "<file>", "an existing .npz file") from None
    except (OSError, ValueError) as error:
        raise ConfigError(file, "<file>", f"a readable .npz archive ({error})") from None
    with archive:
        expected = set(ACTION_KEYS) | {"pose_family", "meta"}
        if set(archive.files) != expected:
            raise ConfigError(file, "<keys>", f"exactly {sorted(expected)}", sorted(archive.files))
        try:
            meta = json.loads(str(archive["meta"]))
        except (ValueError, TypeError) as error:
            raise ConfigError(file, "meta", f"a JSON object ({error})") from None
        if not isinstance(meta, dict):
            raise ConfigError(file, "meta", "a JSON object", type(meta).__name__)
        data = {key: archive[key] for key in (*ACTION_KEYS, "pose_family")}
    _validate(file, data, meta)
    return data, meta


def _validate(file: str, data: dict[str, np.ndarray], meta: dict) -> None:
    n = len(data["human"])
    for key in ACTION_KEYS:
        array = data[key]
        if array.dtype != np.float32:
            raise ConfigError(file, key, "dtype float32", str(array.dtype))
        if array.shape != (n, WIDTHS[key]):
            raise ConfigError(file, key, f"shape [{n}, {WIDTHS[key]}]", list(array.shape))
        if not np.isfinite(array).all():
            raise ConfigError(file, key, "finite values", "NaN or inf")
    for hand in ("faive", "mimic", "franka_gripper"):
        config = load_embodiment(hand)
        low = np.array(config.lower) - JOINT_TOLERANCE
        high = np.array(config.upper) + JOINT_TOLERANCE
        outside = ((data[hand] < low) | (data[hand] > high)).any(axis=1)
        if outside.any():
            raise ConfigError(file, hand, f"values within the joint limits of {config.file}",
                              f"{int(outside.sum())} rows outside")
    families = data["pose_family"]
    if families.dtype != np.int16 or families.shape != (n,):
        raise ConfigError(file, "pose_family", f"int16 of shape [{n}]",
                          f"{families.dtype} {list(families.shape)}")
    names = meta.get("pose_families")
    if not isinstance(names, list) or not names:
        raise ConfigError(file, "meta.pose_families", "a non-empty list of family names", names)
    if n and (families.min() < 0 or families.max() >= len(names)):
        raise ConfigError(file, "pose_family", f"indices in [0, {len(names)})",
                          [int(families.min()), int(families.max())])
