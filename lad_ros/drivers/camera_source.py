"""What every camera source delivers: frames with a capture stamp, pixels and intrinsics.

No rclpy here. A `FrameSource` is opened, read and closed on one thread (the grabber's), so
sources that own thread-bound resources (an OpenGL context, a librealsense pipeline) work.
"""
from __future__ import annotations

import abc
import collections
import time
from dataclasses import dataclass

import numpy as np


class SourceError(RuntimeError):
    """The device is gone or failed; the grabber closes the source and reconnects with back-off."""


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics; `coeffs` in the order of `model` (plumb_bob: k1 k2 p1 p2 k3)."""
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    model: str = "plumb_bob"
    coeffs: tuple = (0.0, 0.0, 0.0, 0.0, 0.0)

    @staticmethod
    def from_fov(width: int, height: int, fovy_deg: float) -> "Intrinsics":
        """Square pixels, principal point at the image centre (pixel centres at integers)."""
        focal = 0.5 * height / np.tan(np.radians(fovy_deg) / 2.0)
        return Intrinsics(width, height, float(focal), float(focal),
                          (width - 1) / 2.0, (height - 1) / 2.0)


@dataclass
class Frame:
    """One capture. `stamp_ns` is the capture time on the ROS (system) clock."""
    stamp_ns: int
    rgb: np.ndarray                      # HxWx3 uint8, C-contiguous
    intrinsics: Intrinsics
    depth: np.ndarray | None = None      # HxW uint16 in depth_units_m, aligned to rgb
    depth_units_m: float = 0.001
    sequence: int = 0                    # device frame counter where the device has one


class FrameSource(abc.ABC):
    """A camera. `read` returns the next frame, or None on timeout or after the last frame of a
    finite recording (then `finished` is True); it raises SourceError when the device is lost."""

    finished: bool = False

    @abc.abstractmethod
    def open(self) -> None:
        """Connect; raise SourceError if the device is not there (the grabber retries)."""

    @abc.abstractmethod
    def read(self, timeout_s: float) -> Frame | None:
        ...

    @abc.abstractmethod
    def close(self) -> None:
        """Release the device; safe to call twice and after a failed open."""

    def describe(self) -> dict:
        """Key/values for diagnostics (serial, firmware, file, ...)."""
        return {}


class ClockOffsetFilter:
    """Maps a device clock to the host clock: stamp = device time + min(receive - device).

    Each frame's host receive time is its capture time plus a delivery delay that is never
    negative and is near its minimum for some frames in any few seconds. The minimum of
    (receive - device) over a sliding window therefore estimates the clock offset plus the
    smallest delivery delay, ignoring the jitter of late frames; the window follows slow drift.
    A jump of the raw offset beyond `jump_ns` (device reset, clock wrap) restarts the window.
    """

    def __init__(self, window_ns: int = 10_000_000_000, jump_ns: int = 500_000_000):
        self.window_ns, self.jump_ns = window_ns, jump_ns
        # (receive_ns, offset) pairs, offsets rising: the front is the window minimum.
        self._window: collections.deque = collections.deque()

    @property
    def offset_ns(self) -> int | None:
        return self._window[0][1] if self._window else None

    def reset(self) -> None:
        self._window.clear()

    def stamp(self, device_ns: int, receive_ns: int) -> int:
        offset = receive_ns - device_ns
        current = self.offset_ns
        if current is not None and abs(offset - current) > self.jump_ns:
            self._window.clear()
        while self._window and self._window[-1][1] >= offset:
            self._window.pop()
        self._window.append((receive_ns, offset))
        while self._window[0][0] < receive_ns - self.window_ns:
            self._window.popleft()
        return device_ns + self._window[0][1]


class FramePacer:
    """Paces sources that could deliver faster than their rate (video files, simulation)."""

    def __init__(self, fps: float):
        self.period_s = 1.0 / fps
        self._next_due = time.monotonic()

    def restart(self) -> None:
        self._next_due = time.monotonic()

    def wait(self, timeout_s: float) -> bool:
        """Sleep until the next frame is due; False if that is further away than timeout_s."""
        wait = self._next_due - time.monotonic()
        if wait > timeout_s:
            time.sleep(timeout_s)
            return False
        if wait > 0:
            time.sleep(wait)
        # Keep the schedule, but never try to catch up more than a second of missed frames.
        self._next_due = max(self._next_due + self.period_s, time.monotonic() - 1.0)
        return True
