"""Episode datasets on disk: format, validating loader, windowing and the co-training sampler.

A dataset is a directory of episodes, one directory each (the recording pipeline converts a bag
into one; `lad_ros.data.synthetic` makes synthetic ones). Frames are already resampled onto a
regular grid at `fps`, aligned on capture stamps:

    <episode>/meta.json        {"format": "lad_ros.episode", "version": 1, "embodiment": "faive",
                                "fps": 10.0, "cameras": ["external"], "num_frames": T}
    <episode>/stamps_ns.npy    int64 [T], capture time of each frame, strictly increasing
    <episode>/arm_pose.npy     float32 [T, 7], measured arm pose: xyz (m) + quaternion xyzw,
                               arm base frame
    <episode>/hand_action.npy  float32 [T, d], the hand command in the embodiment's joint space
                               (d = action_dim of config/embodiments/<embodiment>.yaml)
    <episode>/images/<camera>.npy  uint8 [T, H, W, 3] RGB, one file per camera in meta.cameras

The arm action representation is not stored: it is derived from the measured poses by the
policy (`lad_ros.policy.arm_actions`), so one recording serves both of the paper's variants.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lad_ros.config import ConfigError, Fields
from lad_ros.embodiment import load_embodiment
from lad_ros.policy.arm_actions import arm_action_chunk
from lad_ros.policy.config import read_json

FORMAT, VERSION = "lad_ros.episode", 1


@dataclass(frozen=True)
class Episode:
    path: Path
    embodiment: str
    fps: float
    stamps_ns: np.ndarray
    arm_pose: np.ndarray
    hand_action: np.ndarray
    images: dict  # camera name -> uint8 [T, H, W, 3] (memory-mapped)

    def __len__(self) -> int:
        return len(self.stamps_ns)


@dataclass(frozen=True)
class Window:
    """One training sample: the observation history up to frame t and the chunk from t on."""
    embodiment: str
    images: dict            # camera -> uint8 [n_obs, H, W, 3]
    arm_pose_history: np.ndarray  # [n_obs, 7], oldest first, the last is frame t
    hand_actions: np.ndarray      # [horizon, d]
    arm_actions: np.ndarray       # [horizon, 6 or 9]


def write_episode(path: str | os.PathLike, embodiment: str, fps: float, stamps_ns: np.ndarray,
                  arm_pose: np.ndarray, hand_action: np.ndarray, images: dict) -> Path:
    path = Path(path)
    (path / "images").mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "version": VERSION, "embodiment": embodiment, "fps": float(fps),
            "cameras": list(images), "num_frames": int(len(stamps_ns))}
    np.save(path / "stamps_ns.npy", np.asarray(stamps_ns, dtype=np.int64))
    np.save(path / "arm_pose.npy", np.asarray(arm_pose, dtype=np.float32))
    np.save(path / "hand_action.npy", np.asarray(hand_action, dtype=np.float32))
    for camera, frames in images.items():
        np.save(path / "images" / f"{camera}.npy", np.asarray(frames, dtype=np.uint8))
    (path / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return path


def _array(path: Path, dtype, shape: tuple) -> np.ndarray:
    """Load a .npy (memory-mapped), checking dtype and shape (None = any size)."""
    try:
        array = np.load(path, mmap_mode="r")
    except FileNotFoundError:
        raise ConfigError(str(path), "<file>", "an existing .npy file") from None
    except (ValueError, OSError, EOFError) as error:
        raise ConfigError(str(path), "<file>", f"a complete .npy array ({error})") from None
    if array.dtype != dtype:
        raise ConfigError(str(path), "dtype", np.dtype(dtype).name, array.dtype.name)
    if array.ndim != len(shape) or any(s is not None and s != a
                                       for s, a in zip(shape, array.shape)):
        wanted = "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"
        raise ConfigError(str(path), "shape", wanted, list(array.shape))
    return array


def _read_meta(path: Path) -> Fields:
    file = path / "meta.json"
    data = read_json(file)
    meta = Fields(str(file), data)
    meta.keys_known({"format", "version", "embodiment", "fps", "cameras", "num_frames"})
    if meta.req("format", str) != FORMAT:
        raise meta.error("format", repr(FORMAT), data["format"])
    if meta.req("version", int) != VERSION:
        raise meta.error("version", str(VERSION), data["version"])
    return meta


def load_episode(path: str | os.PathLike) -> Episode:
    """Validate and open one episode; images stay on disk (memory-mapped)."""
    path = Path(path)
    meta = _read_meta(path)
    embodiment = meta.req("embodiment", str)
    try:
        action_dim = load_embodiment(embodiment).action_dim
    except ConfigError as error:
        raise meta.error("embodiment", f"a known embodiment ({error.expected})",
                         embodiment) from None
    fps = meta.number("fps", minimum=1e-3)
    frames = meta.req("num_frames", int)
    if frames < 1:
        raise meta.error("num_frames", "at least 1 frame", frames)
    cameras = meta.vector("cameras", None, str)
    stamps = _array(path / "stamps_ns.npy", np.int64, (frames,))
    if frames > 1 and np.any(np.diff(stamps) <= 0):
        raise ConfigError(str(path / "stamps_ns.npy"), "values", "strictly increasing stamps")
    arm_pose = _array(path / "arm_pose.npy", np.float32, (frames, 7))
    norms = np.linalg.norm(arm_pose[:, 3:], axis=1)
    if not np.all(np.isfinite(arm_pose)) or np.any(np.abs(norms - 1) > 1e-3):
        raise ConfigError(str(path / "arm_pose.npy"), "values",
                          "finite positions and unit quaternions (xyzw)")
    hand = _array(path / "hand_action.npy", np.float32, (frames, action_dim))
    if not np.all(np.isfinite(hand)):
        raise ConfigError(str(path / "hand_action.npy"), "values", "finite numbers")
    images = {c: _array(path / "images" / f"{c}.npy", np.uint8, (frames, None, None, 3))
              for c in cameras}
    return Episode(path, embodiment, fps, stamps, arm_pose, hand, images)


def load_dataset(path: str | os.PathLike) -> list[Episode]:
    """All episodes of a dataset directory (sub-directories with a meta.json), sorted by name."""
    path = Path(path)
    episodes = [load_episode(p) for p in sorted(path.iterdir()) if (p / "meta.json").is_file()] \
        if path.is_dir() else []
    if not episodes:
        raise ConfigError(str(path), "<directory>", "a dataset directory with episodes "
                          "(sub-directories holding meta.json)")
    embodiments = {e.embodiment for e in episodes}
    if len(embodiments) != 1:
        raise ConfigError(str(path), "embodiment", "one embodiment per dataset",
                          sorted(embodiments))
    return episodes


def make_window(episode: Episode, frame: int, n_obs: int, horizon: int, arm_action: str,
                cameras: list[str]) -> Window:
    """Frame indices before the start and past the end repeat the edge frame (as Chi et al.)."""
    obs = np.clip(np.arange(frame - n_obs + 1, frame + 1), 0, len(episode) - 1)
    chunk = np.minimum(np.arange(frame, frame + horizon), len(episode) - 1)
    return Window(
        embodiment=episode.embodiment,
        images={c: np.asarray(episode.images[c][obs]) for c in cameras if c in episode.images},
        arm_pose_history=np.asarray(episode.arm_pose[obs]),
        hand_actions=np.asarray(episode.hand_action[chunk]),
        arm_actions=arm_action_chunk(episode.arm_pose, frame, horizon, arm_action))


def window_index(episodes: list[Episode]) -> np.ndarray:
    """Every (episode, frame) pair: each frame can start a chunk. int64 [N, 2]."""
    return np.array([(e, f) for e, episode in enumerate(episodes) for f in range(len(episode))],
                    dtype=np.int64)


def sub_batch_sizes(weights: list[float], batch_size: int) -> list[int]:
    """Split a batch into per-dataset sub-batches of about B * w_j (weights normalized).

    Largest-remainder rounding: the sizes add up to the batch size exactly, and every dataset
    with a positive weight gets at least one sample when the batch is large enough.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) == 0 or np.any(w <= 0):
        raise ValueError(f"dataset weights must be positive, got {weights}")
    exact = w / w.sum() * batch_size
    sizes = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - sizes), kind="stable")[: batch_size - sizes.sum()]:
        sizes[i] += 1
    if batch_size >= len(w):
        for i in np.flatnonzero(sizes == 0):
            sizes[i] += 1
            sizes[np.argmax(sizes)] -= 1
    return sizes.tolist()


class CoTrainSampler:
    """Draws, for each batch, per-dataset lists of (episode, frame) pairs (paper §6.5)."""

    def __init__(self, datasets: list[list[Episode]], weights: list[float], batch_size: int,
                 seed: int = 0):
        self.indices = [window_index(episodes) for episodes in datasets]
        self.sizes = sub_batch_sizes(weights, batch_size)
        self.rng = np.random.default_rng(seed)

    def sample(self) -> list[np.ndarray]:
        return [index[self.rng.integers(0, len(index), size)]
                for index, size in zip(self.indices, self.sizes)]
