"""Grab frames from a FrameSource on a thread of its own; reconnect with back-off when it fails.

The grabber opens, reads and closes the source on its thread only (blocking reads never reach a
ROS executor) and hands each frame to `on_frame` there. `status()` is a snapshot for diagnostics.
"""
from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass, field

from lad_ros.drivers.camera_source import Frame, FrameSource, SourceError

STATES = ("connecting", "streaming", "reconnecting", "finished", "stopped")


@dataclass(frozen=True)
class GrabberStatus:
    state: str
    frames: int
    reconnects: int
    rate_hz: float
    last_error: str
    last_stamp_ns: int | None
    capture_to_handoff_ms: float | None  # host clock now minus capture stamp, at hand-over
    info: dict = field(default_factory=dict)


class Backoff:
    """Doubling delays between reconnect attempts, reset once frames flow again."""

    def __init__(self, initial_s: float = 0.5, maximum_s: float = 5.0):
        self.initial_s, self.maximum_s = initial_s, maximum_s
        self.next_s = initial_s

    def take(self) -> float:
        delay, self.next_s = self.next_s, min(self.next_s * 2.0, self.maximum_s)
        return delay

    def reset(self) -> None:
        self.next_s = self.initial_s


class Grabber:
    def __init__(self, source: FrameSource, on_frame, stall_timeout_s: float = 2.0,
                 backoff: Backoff | None = None, name: str = "camera",
                 clock_ns=time.time_ns):
        self.source, self.on_frame, self.name = source, on_frame, name
        self.stall_timeout_s = stall_timeout_s
        self.backoff = backoff or Backoff()
        self.clock_ns = clock_ns
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._state, self._frames, self._reconnects, self._error = "connecting", 0, 0, ""
        self._last_stamp_ns = self._latency_ms = None
        self._arrivals: collections.deque = collections.deque(maxlen=120)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"grab-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._set(state="stopped")

    def status(self) -> GrabberStatus:
        with self._lock:
            arrivals = list(self._arrivals)
            rate = ((len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
                    if len(arrivals) > 1 and arrivals[-1] > arrivals[0] else 0.0)
            return GrabberStatus(self._state, self._frames, self._reconnects, rate, self._error,
                                 self._last_stamp_ns, self._latency_ms, self.source.describe())

    def wait_until(self, states: tuple, timeout_s: float) -> bool:
        """For callers that need the grabber to reach a state (tests, shutdown on end of file)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.status().state in states:
                return True
            time.sleep(0.01)
        return False

    def _set(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self, f"_{key}", value)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.source.open()
                self._set(state="streaming")
                self._stream()
            except SourceError as error:
                self._set(error=str(error))
            finally:
                self.source.close()
            if self.source.finished:
                self._set(state="finished")
                return
            if self._stop.is_set():
                return
            with self._lock:
                self._state, self._reconnects = "reconnecting", self._reconnects + 1
            self._stop.wait(self.backoff.take())

    def _stream(self) -> None:
        last_frame = time.monotonic()
        while not self._stop.is_set():
            frame = self.source.read(timeout_s=min(0.5, self.stall_timeout_s))
            if frame is not None:
                last_frame = time.monotonic()
                self.backoff.reset()
                self._deliver(frame, last_frame)
            elif self.source.finished:
                return
            elif time.monotonic() - last_frame > self.stall_timeout_s:
                raise SourceError(f"no frame for {self.stall_timeout_s:.1f} s")

    def _deliver(self, frame: Frame, arrived: float) -> None:
        latency_ms = (self.clock_ns() - frame.stamp_ns) / 1e6
        with self._lock:
            self._frames += 1
            self._arrivals.append(arrived)
            self._last_stamp_ns, self._latency_ms = frame.stamp_ns, latency_ms
        try:
            self.on_frame(frame)
        except Exception as error:  # a failed publish must not end grabbing (or reconnects)
            self._set(error=f"frame handler: {error!r}")
