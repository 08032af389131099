"""Cameras and videos through OpenCV: a device index, a /dev/video path, a URL or a video file.

UVC webcams report no exposure time, so the stamp is the host time right after `grab()` returns
(the frame is complete then; decoding happens after, in `retrieve()`). A video file is played at
the configured rate and ends (`finished`); a device or stream that stops delivering is lost
(SourceError), and the grabber reconnects.
"""
from __future__ import annotations

import os
import time

import cv2
import numpy as np

from lad_ros.drivers.camera_source import (Frame, FrameSource, FramePacer, Intrinsics,
                                           SourceError)


class OpenCVSource(FrameSource):
    def __init__(self, device: int | str, width: int, height: int, fps: float,
                 fovy_deg: float = 60.0, clock_ns=time.time_ns):
        self.device, self.width, self.height, self.fps = device, width, height, fps
        # Uncalibrated webcam: a nominal field of view; put a calibration in cameras.yaml later.
        self.fovy_deg = fovy_deg
        self.clock_ns = clock_ns
        self.is_file = False  # decided at open: a path may be a file or a device node
        self._capture = None
        self._pacer = FramePacer(fps)
        self._count = 0

    def open(self) -> None:
        self.finished = False
        if isinstance(self.device, str) and "://" not in self.device and not os.path.exists(
                self.device):
            raise SourceError(f"{self.device}: no such file or device")  # may appear later
        self.is_file = isinstance(self.device, str) and os.path.isfile(self.device)
        capture = cv2.VideoCapture(self.device)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"OpenCV cannot open {self.device!r}")
        if not self.is_file:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            capture.set(cv2.CAP_PROP_FPS, self.fps)
        self._capture, self._count = capture, 0
        self._pacer.restart()

    def close(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()

    def describe(self) -> dict:
        return {"device": str(self.device), "backend": self._capture.getBackendName()
                if self._capture is not None else ""}

    def read(self, timeout_s: float) -> Frame | None:
        if self._capture is None:
            raise SourceError("OpenCV source is not open")
        if self.is_file and not self._pacer.wait(timeout_s):
            return None  # a file is paced at its nominal rate; a live device paces itself
        if not self._capture.grab():
            if self.is_file:
                self.finished = True
                return None
            raise SourceError(f"{self.device!r} stopped delivering frames")
        stamp_ns = self.clock_ns()
        ok, bgr = self._capture.retrieve()
        if not ok or bgr is None:
            raise SourceError(f"{self.device!r}: frame could not be decoded")
        rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        self._count += 1
        height, width = rgb.shape[:2]
        return Frame(stamp_ns=stamp_ns, rgb=rgb, sequence=self._count,
                     intrinsics=Intrinsics.from_fov(width, height, self.fovy_deg))
