"""config/cameras.yaml: which cameras the cell has and how to reach them, validated with Fields.

Each camera becomes `/lad/cameras/<name>/image_raw` (+ `camera_info`, and with depth
`aligned_depth_to_color/image_raw` and its `camera_info`), frame ids as realsense-ros names them.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from lad_ros.config import Fields, read_yaml
from lad_ros.drivers.realsense_source import STAMP_MODES
from lad_ros.embodiment import resolve, share_dir

SOURCE_KINDS = ("realsense", "opencv", "sim")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class ReconnectPolicy:
    stall_timeout_s: float = 2.0
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 5.0


@dataclass(frozen=True)
class CameraConfig:
    name: str
    source: str
    width: int
    height: int
    fps: int
    depth: bool = False
    frame_id: str = ""
    # realsense
    serial: str = ""
    playback_file: str = ""
    stamp_mode: str = "auto"
    # opencv
    device: int | str = 0
    fovy_deg: float = 60.0
    # sim
    sim_camera: str = ""
    mjcf: str = ""
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)

    @property
    def topic_prefix(self) -> str:
        return f"/lad/cameras/{self.name}"

    @property
    def depth_topic_prefix(self) -> str:
        return f"{self.topic_prefix}/aligned_depth_to_color"


def cameras_file() -> str:
    return str(share_dir() / "config" / "cameras.yaml")


def _positive_int(fields: Fields, key: str, maximum: int) -> int:
    value = fields.req(key, int)
    if not 1 <= value <= maximum:
        raise fields.error(key, f"an integer in 1..{maximum}", value)
    return value


def _source_section(fields: Fields, kind: str, depth: bool) -> dict:
    section = fields.sub(kind, required=kind == "sim") or Fields(fields.file, {}, kind)
    if kind == "realsense":
        section.keys_known({"serial", "playback_file", "stamp_mode"})
        playback = section.opt("playback_file", str, "")
        return {"serial": section.opt("serial", str, ""),  # quote serials: YAML reads digits
                "playback_file": str(resolve(playback)) if playback else "",
                "stamp_mode": section.choice("stamp_mode", STAMP_MODES, "auto")}
    if depth and kind == "opencv":
        raise fields.error("depth", "false (OpenCV cameras have no depth)", True)
    if kind == "opencv":
        section.keys_known({"device", "fovy_deg"})
        return {"device": section.opt("device", (int, str), 0),
                "fovy_deg": section.number("fovy_deg", 60.0, minimum=1.0, maximum=179.0)}
    section.keys_known({"camera", "mjcf"})
    mjcf = section.opt("mjcf", str, "")
    return {"sim_camera": section.req("camera", str), "mjcf": str(resolve(mjcf)) if mjcf else ""}


def _camera(fields: Fields) -> CameraConfig:
    fields.keys_known({"name", "source", "width", "height", "fps", "depth", "frame_id",
                       "realsense", "opencv", "sim", "reconnect"})
    name = fields.req("name", str)
    if not _NAME.match(name):
        raise fields.error("name", "lower-case letters, digits and _ (it is part of topic names)",
                           name)
    kind = fields.choice("source", SOURCE_KINDS)
    depth = fields.opt("depth", bool, False)
    reconnect = fields.sub("reconnect", required=False)
    policy = ReconnectPolicy() if reconnect is None else ReconnectPolicy(
        reconnect.number("stall_timeout_s", 2.0, minimum=0.1),
        reconnect.number("initial_backoff_s", 0.5, minimum=0.01),
        reconnect.number("max_backoff_s", 5.0, minimum=0.01))
    return CameraConfig(
        name=name, source=kind,
        width=_positive_int(fields, "width", 8192), height=_positive_int(fields, "height", 8192),
        fps=_positive_int(fields, "fps", 1000), depth=depth,
        frame_id=fields.opt("frame_id", str, f"{name}_color_optical_frame"),
        reconnect=policy, **_source_section(fields, kind, depth))


def load_cameras_file(path: str | os.PathLike | None = None) -> dict[str, CameraConfig]:
    """name -> CameraConfig for every camera of the file (default: config/cameras.yaml)."""
    path = str(path or cameras_file())
    fields = Fields(path, read_yaml(path))
    fields.keys_known({"cameras"})
    cameras: dict[str, CameraConfig] = {}
    for item in fields.items("cameras"):
        camera = _camera(item)
        if camera.name in cameras:
            raise item.error("name", "a camera name not used before", camera.name)
        cameras[camera.name] = camera
    return cameras


def load_camera(name: str, path: str | os.PathLike | None = None) -> CameraConfig:
    path = str(path or cameras_file())
    cameras = load_cameras_file(path)
    if name not in cameras:
        raise Fields(path, {}).error("cameras", f"a camera named {name!r}", sorted(cameras))
    return cameras[name]


def source_for(config: CameraConfig):
    """The FrameSource a camera config describes (sim: a static scene from `sim.mjcf`; a sim cell
    builds SimSource itself with its own model, data and lock)."""
    if config.source == "realsense":
        from lad_ros.drivers.realsense_source import RealSenseSource
        return RealSenseSource(config.width, config.height, config.fps, config.depth,
                               config.serial, config.playback_file, config.stamp_mode)
    if config.source == "opencv":
        from lad_ros.drivers.opencv_source import OpenCVSource
        return OpenCVSource(config.device, config.width, config.height, config.fps,
                            config.fovy_deg)
    if not config.mjcf:
        raise ValueError(f"camera {config.name!r}: a standalone sim camera needs sim.mjcf; "
                         "in the sim cell, the cell builds the SimSource")
    from lad_ros.sim.sim_camera import SimSource
    return SimSource.from_mjcf(config.mjcf, config.sim_camera, config.width, config.height,
                               config.fps, config.depth)
