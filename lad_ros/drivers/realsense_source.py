"""RealSense cameras through pyrealsense2: a live device chosen by serial, or a recording.

Colour is rgb8; depth (optional) is z16 aligned to colour with `rs.align`, so one pixel grid and
the colour intrinsics serve both. Stamps (see docs/cameras.md, "Timestamps"):
  playback  the recorded timestamp unchanged, whatever the mode
  auto      the frame timestamp where it is already on the host clock (global_time,
            system_time domains), else (hardware_clock) mapped with ClockOffsetFilter
  filtered  always ClockOffsetFilter (device time + min-filtered offset to host receive time)
  receive   host time when librealsense handed the frame over
"""
from __future__ import annotations

import collections
import os
import time

import numpy as np

from lad_ros.drivers.camera_source import (ClockOffsetFilter, Frame, FrameSource, Intrinsics,
                                           SourceError)

STAMP_MODES = ("auto", "filtered", "receive")


def _rs():
    import pyrealsense2 as rs  # imported lazily: configs validate on machines without the wheel
    return rs


def intrinsics_from_rs(intr) -> Intrinsics:
    rs = _rs()
    # As realsense-ros: Kannala-Brandt is ROS "equidistant" (4 coefficients), the rest plumb_bob.
    if intr.model == rs.distortion.kannala_brandt4:
        model, coeffs = "equidistant", tuple(float(c) for c in intr.coeffs[:4])
    else:
        model, coeffs = "plumb_bob", tuple(float(c) for c in intr.coeffs[:5])
    return Intrinsics(intr.width, intr.height, float(intr.fx), float(intr.fy), float(intr.ppx),
                      float(intr.ppy), model, coeffs)


def capture_stamp_ns(device_ms: float, domain: str, receive_ns: int, stamp_mode: str,
                     playback: bool, offset_filter: ClockOffsetFilter) -> int:
    """A frame's capture time on the host clock (the rules are in the module docstring)."""
    device_ns = round(device_ms * 1e6)
    if playback:
        return device_ns
    if stamp_mode == "receive":
        return receive_ns
    if stamp_mode == "auto" and domain != "hardware_clock":
        return device_ns  # global_time and system_time are on the host clock already
    return offset_filter.stamp(device_ns, receive_ns)


def connected_serials() -> list[str]:
    rs = _rs()
    return [d.get_info(rs.camera_info.serial_number) for d in rs.context().query_devices()]


class RealSenseSource(FrameSource):
    def __init__(self, width: int, height: int, fps: int, depth: bool = False, serial: str = "",
                 playback_file: str = "", stamp_mode: str = "auto",
                 clock_ns=time.time_ns):
        if stamp_mode not in STAMP_MODES:
            raise ValueError(f"stamp_mode must be one of {STAMP_MODES}, got {stamp_mode!r}")
        self.width, self.height, self.fps, self.depth = width, height, fps, depth
        self.serial, self.playback_file, self.stamp_mode = serial, playback_file, stamp_mode
        self.clock_ns = clock_ns
        self.offset_filter = ClockOffsetFilter()
        self._frames = self._stop = self._align = self._playback = None
        self._info: dict = {}
        self._depth_units_m = 0.001
        self._last_color_number = None
        self._pending: Frame | None = None
        self._ready: collections.deque = collections.deque()

    # --- connection -----------------------------------------------------------------------
    def open(self) -> None:
        rs = _rs()
        self.finished = False
        self._last_color_number, self._pending = None, None
        self._ready.clear()
        self.offset_filter.reset()
        try:
            device = self._open_playback() if self.playback_file else self._open_live()
        except (RuntimeError, SourceError) as error:
            self.close()
            if isinstance(error, SourceError):
                raise
            raise SourceError(f"RealSense start failed: {error}") from error
        self._align = rs.align(rs.stream.color) if self.depth else None
        self._depth_units_m = (device.first_depth_sensor().get_depth_scale()
                               if self.depth else 0.001)
        self._info = {name: device.get_info(getattr(rs.camera_info, name))
                      for name in ("name", "serial_number", "firmware_version")
                      if device.supports(getattr(rs.camera_info, name))}
        if self.playback_file:
            self._info["playback_file"] = self.playback_file

    def _open_live(self):
        rs = _rs()
        if self.serial and self.serial not in connected_serials():
            raise SourceError(f"no RealSense with serial {self.serial} "
                              f"(connected: {connected_serials() or 'none'})")
        config = rs.config()
        if self.serial:
            config.enable_device(self.serial)
        config.enable_stream(rs.stream.color, self.width, self.height, rs.format.rgb8, self.fps)
        if self.depth:
            config.enable_stream(rs.stream.depth, self.width, self.height, rs.format.z16,
                                 self.fps)
        pipeline = rs.pipeline()
        profile = pipeline.start(config)
        self._frames, self._stop = pipeline, pipeline.stop
        return profile.get_device()

    def _open_playback(self):
        """Sensors into a syncer, started while playback is paused: `rs.pipeline` on a file
        sometimes loses the first frame, starting playback before its syncer listens."""
        rs = _rs()
        if not os.path.isfile(self.playback_file):
            raise SourceError(f"{self.playback_file}: no such recording")
        context = rs.context()
        device = context.load_device(self.playback_file)
        playback = device.as_playback()
        playback.set_real_time(True)
        playback.pause()
        wanted = [rs.stream.color] + ([rs.stream.depth] if self.depth else [])
        syncer, started = rs.syncer(10), []

        def stop():
            for sensor in started:
                sensor.stop()
                sensor.close()
            context.unload_device(self.playback_file)

        self._frames, self._stop, self._playback = syncer, stop, playback
        for sensor in device.query_sensors():
            profiles = [p for p in sensor.get_stream_profiles() if p.stream_type() in wanted]
            if profiles:
                sensor.open(profiles[0])
                sensor.start(syncer)
                started.append(sensor)
                wanted.remove(profiles[0].stream_type())
        if wanted:
            raise SourceError(f"{self.playback_file}: no {', '.join(map(str, wanted))} stream")
        playback.resume()
        return device

    def close(self) -> None:
        stop, self._stop, self._frames, self._playback = self._stop, None, None, None
        if stop is not None:
            try:
                stop()
            except RuntimeError:
                pass  # already stopped (end of playback, unplugged device)

    def describe(self) -> dict:
        return dict(self._info)

    # --- frames ---------------------------------------------------------------------------
    def read(self, timeout_s: float) -> Frame | None:
        if self._frames is None:
            raise SourceError("RealSense source is not open")
        deadline = time.monotonic() + timeout_s
        while not self._ready:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                return None
            try:
                ok, frames = self._frames.try_wait_for_frames(remaining_ms)
            except RuntimeError as error:
                raise SourceError(f"RealSense read failed: {error}") from error
            if ok:
                self._accept(frames, self.clock_ns())
            elif self._playback_ended():
                break
        return self._ready.popleft() if self._ready else None

    def _playback_ended(self) -> bool:
        rs = _rs()
        if self._playback is None or (
                self._playback.current_status() != rs.playback_status.stopped):
            return False
        if self._pending is not None:
            self._ready.append(self._pending)
            self._pending = None
        self.finished = not self._ready
        return True

    def _accept(self, frames, receive_ns: int) -> None:
        """Queue a Frame for each new colour frame, with the depth frame of the same timestamp.

        The syncer may hand over a colour frame before (or without) its depth frame and the
        pair a moment later (playback does this for the first frame); such a colour frame waits
        for its depth until the next colour frame arrives, then goes out without depth.
        """
        color = frames.get_color_frame()
        if not color:
            return
        number = color.get_frame_number()
        if self._pending is not None:
            if self._pending.sequence == number:
                self._pending.depth = self._matching_depth(frames, color)
                if self._pending.depth is not None:
                    self._ready.append(self._pending)
                    self._pending = None
                return
            self._ready.append(self._pending)
            self._pending = None
        if number == self._last_color_number:
            return
        self._last_color_number = number
        frame = self._frame(color, receive_ns)
        if self.depth:
            frame.depth = self._matching_depth(frames, color)
            if frame.depth is None:
                self._pending = frame
                return
        self._ready.append(frame)

    def _matching_depth(self, frames, color) -> np.ndarray | None:
        depth = frames.get_depth_frame()
        half_period_ms = 500.0 / max(self.fps, 1)
        if not depth or abs(depth.get_timestamp() - color.get_timestamp()) > half_period_ms:
            return None
        aligned = self._align.process(frames).get_depth_frame()
        return np.array(aligned.get_data(), dtype=np.uint16, copy=True) if aligned else None

    def _frame(self, color, receive_ns: int) -> Frame:
        profile = color.get_profile().as_video_stream_profile()
        rgb = np.array(color.get_data(), dtype=np.uint8, copy=True)
        return Frame(stamp_ns=self._stamp(color, receive_ns), rgb=rgb,
                     intrinsics=intrinsics_from_rs(profile.get_intrinsics()),
                     depth_units_m=self._depth_units_m, sequence=color.get_frame_number())

    def _stamp(self, color, receive_ns: int) -> int:
        domain = color.get_frame_timestamp_domain().name
        self._info["timestamp_domain"] = domain  # shown in diagnostics: is global time on?
        return capture_stamp_ns(color.get_timestamp(), domain,
                                receive_ns, self.stamp_mode, self._playback is not None,
                                self.offset_filter)
