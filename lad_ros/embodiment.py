"""Embodiment registry: name -> validated EmbodimentConfig, from config/embodiments/<name>.yaml.

The files are found in the source tree (a checkout or a venv install) or, after `colcon build`,
in the package's share directory; LAD_ROS_SHARE overrides both.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from lad_ros.config import ConfigError, EmbodimentConfig, load_embodiment_file

# What the method fixes about each known end-effector; a config file must agree with it.
KNOWN_EMBODIMENTS = {
    "human": {"kind": "human_hand", "action_dim": 63},
    "faive": {"kind": "dexterous_hand", "action_dim": 11},
    "mimic": {"kind": "dexterous_hand", "action_dim": 16},
    "franka_gripper": {"kind": "parallel_gripper", "action_dim": 1},
}
ROBOT_END_EFFECTORS = ("faive", "mimic", "franka_gripper")


def share_dir() -> Path:
    """Directory holding config/, models/ and launch/ (source tree or installed share)."""
    override = os.environ.get("LAD_ROS_SHARE")
    if override:
        return Path(override)
    source_root = Path(__file__).resolve().parent.parent
    if (source_root / "config" / "embodiments").is_dir():
        return source_root
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory("lad_ros"))
    except (ImportError, LookupError) as error:
        raise FileNotFoundError(
            "lad_ros: cannot find config/: not in a source tree and the package is not "
            "installed in an ament index (source install/setup.bash, or set LAD_ROS_SHARE)"
        ) from error


def resolve(relative: str | os.PathLike) -> Path:
    """A path from a config file: absolute as is, relative to the package share directory."""
    path = Path(relative)
    return path if path.is_absolute() else share_dir() / path


def embodiment_file(name: str) -> Path:
    return share_dir() / "config" / "embodiments" / f"{name}.yaml"


def available_embodiments() -> list[str]:
    return sorted(p.stem for p in (share_dir() / "config" / "embodiments").glob("*.yaml"))


def check_known(config: EmbodimentConfig) -> EmbodimentConfig:
    """A config for a known embodiment must have the kind and size the method expects."""
    expected = KNOWN_EMBODIMENTS.get(config.name)
    if expected is None:
        raise ConfigError(config.file, "name", f"one of {sorted(KNOWN_EMBODIMENTS)}",
                          config.name)
    if config.kind != expected["kind"]:
        raise ConfigError(config.file, "kind", expected["kind"], config.kind)
    if config.action_dim != expected["action_dim"]:
        field = "keypoints" if config.kind == "human_hand" else "joints"
        raise ConfigError(config.file, field,
                          f"{expected['action_dim']} action dimensions for '{config.name}'",
                          config.action_dim)
    return config


def load_embodiment_path(path: str | os.PathLike) -> EmbodimentConfig:
    return check_known(load_embodiment_file(path))


@functools.lru_cache(maxsize=None)
def load_embodiment(name: str) -> EmbodimentConfig:
    """The shipped (or overridden) config of a named embodiment; cached, configs are frozen."""
    path = embodiment_file(name)
    if not path.is_file():
        raise ConfigError(str(path), "name",
                          f"one of the embodiments {available_embodiments()}", name)
    config = load_embodiment_path(path)
    if config.name != name:
        raise ConfigError(str(path), "name", f"'{name}' (the file's name)", config.name)
    return config
