"""A MuJoCo camera as a FrameSource: offscreen render of an MjModel/MjData it does not own.

The sim cell owns the model, the data and a lock around stepping; this source takes all three,
copies the scene under the lock (short) and renders outside it. The renderer (an OpenGL context)
is created in `open()`, which the grabber calls on its own thread, the thread that renders.
Stamps come from `clock_ns` at the moment the scene is copied: pass the sim cell's clock so the
stamp is the simulated capture time.
"""
from __future__ import annotations

import contextlib
import threading
import time

import numpy as np

from lad_ros.drivers.camera_source import (Frame, FrameSource, FramePacer, Intrinsics,
                                           SourceError)


class SimSource(FrameSource):
    def __init__(self, model, data, camera: str, width: int, height: int, fps: float,
                 depth: bool = False, lock=None, clock_ns=time.time_ns):
        import mujoco
        self._mujoco = mujoco
        self.model, self.data, self.camera = model, data, camera
        self.camera_id = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera)
        if self.camera_id < 0:
            names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_CAMERA, i)
                     for i in range(model.ncam)]
            raise ValueError(f"MuJoCo model has no camera {camera!r} (cameras: {names})")
        offscreen = (model.vis.global_.offwidth, model.vis.global_.offheight)
        if width > offscreen[0] or height > offscreen[1]:
            raise ValueError(f"{width}x{height} is larger than the model's offscreen buffer "
                             f"{offscreen[0]}x{offscreen[1]}: set <visual><global "
                             f"offwidth=\"{width}\" offheight=\"{height}\"/></visual>")
        self.width, self.height, self.fps, self.depth = width, height, fps, depth
        self.lock = lock if lock is not None else contextlib.nullcontext()
        self.clock_ns = clock_ns
        self.intrinsics = Intrinsics.from_fov(width, height, float(model.cam_fovy[self.camera_id]))
        self._renderer = None
        self._pacer = FramePacer(fps)
        self._count = 0

    @staticmethod
    def from_mjcf(path: str, camera: str, width: int, height: int, fps: float,
                  depth: bool = False) -> "SimSource":
        """A static scene of its own (no sim cell): for trying a camera setup."""
        import mujoco
        model = mujoco.MjModel.from_xml_path(str(path))
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        return SimSource(model, data, camera, width, height, fps, depth, threading.Lock())

    def open(self) -> None:
        self.finished = False
        try:
            self._renderer = self._mujoco.Renderer(self.model, self.height, self.width)
        except Exception as error:  # no GL context: MUJOCO_GL unset, offscreen buffer too small
            raise SourceError(f"MuJoCo renderer: {error}") from error
        self._pacer.restart()

    def close(self) -> None:
        renderer, self._renderer = self._renderer, None
        if renderer is not None:
            renderer.close()

    def describe(self) -> dict:
        return {"mujoco_camera": self.camera}

    def read(self, timeout_s: float) -> Frame | None:
        if self._renderer is None:
            raise SourceError("sim camera is not open")
        if not self._pacer.wait(timeout_s):
            return None
        renderer = self._renderer
        with self.lock:
            stamp_ns = self.clock_ns()
            renderer.update_scene(self.data, camera=self.camera_id)
        rgb = np.ascontiguousarray(renderer.render())
        depth = None
        if self.depth:
            renderer.enable_depth_rendering()
            metres = renderer.render()
            renderer.disable_depth_rendering()
            # As a RealSense: uint16 millimetres, 0 where there is no valid depth.
            millimetres = np.where(np.isfinite(metres), np.round(metres * 1000.0), 0.0)
            depth = np.clip(millimetres, 0, 65535).astype(np.uint16)
        self._count += 1
        return Frame(stamp_ns=stamp_ns, rgb=rgb, intrinsics=self.intrinsics, depth=depth,
                     depth_units_m=0.001, sequence=self._count)
