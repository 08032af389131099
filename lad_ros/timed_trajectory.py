"""Following time-stamped chunks: sample the newest at "now", interpolate, never extrapolate.

A policy chunk (or a user's timed Path / JointTrajectory) is a list of points with absolute
times. A follower keeps only the newest one, drops points already in the past, interpolates
between the two points around "now", and reports when it must hold: nothing received yet, the
chunk ran out, or the chunk went stale. No ROS here: times are integer nanoseconds.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from lad_ros.safety import slerp


class FollowState(str, Enum):
    IDLE = "idle"          # nothing to follow: hold
    WAITING = "waiting"    # chunk starts in the future: hold until its first point
    TRACKING = "tracking"  # inside the chunk: follow the interpolated target
    FINISHED = "finished"  # chunk ran out: hold the last safe target
    STALE = "stale"        # no new chunk within the watchdog timeout: hold


@dataclass(frozen=True)
class TimedPoints:
    """Points [N, D] at strictly increasing absolute times [N] (ns). Quaternion columns
    (xyzw, given as a start index) are interpolated by slerp, the rest linearly."""
    times_ns: np.ndarray
    points: np.ndarray
    quaternion_at: int | None = None

    def __post_init__(self):
        times = np.asarray(self.times_ns, dtype=np.int64).reshape(-1)
        points = np.asarray(self.points, dtype=float)
        if points.ndim != 2 or points.shape[0] != times.shape[0] or times.size == 0:
            raise ValueError(f"timed points: expected N times and N x D points, got "
                             f"{times.shape} and {points.shape}")
        if np.any(np.diff(times) <= 0):
            raise ValueError("timed points: times must be strictly increasing")
        if not np.all(np.isfinite(points)):
            raise ValueError("timed points: non-finite values")
        object.__setattr__(self, "times_ns", times)
        object.__setattr__(self, "points", points)

    @property
    def start_ns(self) -> int:
        return int(self.times_ns[0])

    @property
    def end_ns(self) -> int:
        return int(self.times_ns[-1])

    def sample(self, now_ns: int) -> np.ndarray | None:
        """The interpolated point at now_ns; None outside [start, end] (never extrapolates)."""
        if now_ns < self.start_ns or now_ns > self.end_ns:
            return None
        upper = int(np.searchsorted(self.times_ns, now_ns, side="left"))
        if self.times_ns[upper] == now_ns or upper == 0:
            return self.points[upper].copy()
        lower = upper - 1
        fraction = (now_ns - self.times_ns[lower]) / (self.times_ns[upper] - self.times_ns[lower])
        a, b = self.points[lower], self.points[upper]
        out = a + fraction * (b - a)
        q = self.quaternion_at
        if q is not None:
            out[q:q + 4] = slerp(a[q:q + 4] / np.linalg.norm(a[q:q + 4]),
                                 b[q:q + 4] / np.linalg.norm(b[q:q + 4]), fraction)
        return out


class TrajectoryFollower:
    """Holds the newest chunk and says what to command at a given time.

    `stale_after_ns`: if no new chunk arrived for this long the follower holds even inside a
    chunk (None disables it: a user's timed Path is followed to its end).
    """

    def __init__(self, stale_after_ns: int | None = None):
        self.stale_after_ns = stale_after_ns
        self._chunk: TimedPoints | None = None
        self._received_ns: int | None = None
        self.rejected_past = 0

    def set(self, chunk: TimedPoints, received_ns: int) -> bool:
        """Adopt a new chunk unless all its points already lie in the past."""
        if chunk.end_ns < received_ns:
            self.rejected_past += 1
            return False
        self._chunk, self._received_ns = chunk, received_ns
        return True

    def clear(self) -> None:
        self._chunk = self._received_ns = None

    def target(self, now_ns: int) -> tuple[np.ndarray | None, FollowState]:
        chunk = self._chunk
        if chunk is None:
            return None, FollowState.IDLE
        if self.stale_after_ns is not None and now_ns - self._received_ns > self.stale_after_ns:
            return None, FollowState.STALE
        if now_ns < chunk.start_ns:
            return None, FollowState.WAITING
        point = chunk.sample(now_ns)
        if point is None:
            return None, FollowState.FINISHED
        return point, FollowState.TRACKING
