"""RealSense cameras through pyrealsense2: a live device chosen by serial, or a recording played back.

Colour is rgb8; depth (optional) is z16 aligned to colour with `rs.align`, so one pixel grid and
the colour intrinsics serve both. Stamps (see docs/cameras.md, "Timestamps"):
  auto      playback: the recorded timestamp unchanged; live: the frame timestamp where it is
            already on the host clock (global_time, system_time domains), else (hardware_clock)
            mapped with ClockOffsetFilter
  filtered  always ClockOffsetFilter (device time + min-filtered offset to host receive time)
  receive   host time when librealsense handed the frame over
"""
from __future__ import annotations

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
        self._pipeline = self._align = self._playback = None
        self._info: dict = {}
        self._depth_units_m = 0.001
        self._last_color_number = None
        self._pending: Frame | None = None

    # --- connection -----------------------------------------------------------------------
    def open(self) -> None:
        rs = _rs()
        self.finished = False
        self._last_color_number, self._pending = None, None
        self.offset_filter.reset()
        config = rs.config()
        if self.playback_file:
            config.enable_device_from_file(self.playback_file, repeat_playback=False)
            # Recordings carry their own stream set; ask for what we need, any resolution.
            config.enable_stream(rs.stream.color)
            if self.depth:
                config.enable_stream(rs.stream.depth)
        else:
            if self.serial and self.serial not in connected_serials():
                raise SourceError(f"no RealSense with serial {self.serial} "
                                  f"(connected: {connected_serials() or 'none'})")
            if self.serial:
                config.enable_device(self.serial)
            config.enable_stream(rs.stream.color, self.width, self.height, rs.format.rgb8,
                                 self.fps)
            if self.depth:
                config.enable_stream(rs.stream.depth, self.width, self.height, rs.format.z16,
                                     self.fps)
        pipeline = rs.pipeline()
        try:
            profile = pipeline.start(config)
        except RuntimeError as error:
            raise SourceError(f"RealSense start failed: {error}") from error
        self._pipeline = pipeline
        device = profile.get_device()
        self._playback = device.as_playback() if self.playback_file else None
        self._align = rs.align(rs.stream.color) if self.depth else None
        self._depth_units_m = (device.first_depth_sensor().get_depth_scale()
                               if self.depth else 0.001)
        self._info = {name: device.get_info(getattr(rs.camera_info, name))
                      for name in ("name", "serial_number", "firmware_version")
                      if device.supports(getattr(rs.camera_info, name))}
        if self.playback_file:
            self._info["playback_file"] = self.playback_file

    def close(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            try:
                pipeline.stop()
            except RuntimeError:
                pass  # already stopped (end of playback, unplugged device)

    def describe(self) -> dict:
        return dict(self._info)

    # --- frames ---------------------------------------------------------------------------
    def read(self, timeout_s: float) -> Frame | None:
        if self._pipeline is None:
            raise SourceError("RealSense source is not open")
        deadline = time.monotonic() + timeout_s
        while True:
            remaining_ms = max(1, int((deadline - time.monotonic()) * 1000))
            try:
                ok, frames = self._pipeline.try_wait_for_frames(remaining_ms)
            except RuntimeError as error:
                raise SourceError(f"RealSense read failed: {error}") from error
            if not ok:
                return self._end_or_timeout()
            frame = self._take(frames, self.clock_ns())
            if frame is not None:
                return frame
            if time.monotonic() >= deadline:
                return None

    def _end_or_timeout(self) -> Frame | None:
        rs = _rs()
        if self._playback is not None and (
                self._playback.current_status() == rs.playback_status.stopped):
            self.finished = self._pending is None
            pending, self._pending = self._pending, None
            return pending
        return None

    def _take(self, frames, receive_ns: int) -> Frame | None:
        """A frame for each new colour frame, with the depth frame of the same timestamp.

        The pipeline's syncer may hand over a new colour frame with the previous depth frame
        and the matching depth a moment later (playback does this); such a colour frame waits
        for its depth until the next colour frame arrives.
        """
        color = frames.get_color_frame()
        if not color:
            return None
        number = color.get_frame_number()
        if self._pending is not None and self._pending.sequence != number:
            emitted, self._pending = self._pending, None
            self._take(frames, receive_ns)  # keep the new colour frame as pending or ready
            return emitted
        if number == self._last_color_number:
            return None if self._pending is None else self._complete_pending(frames)
        self._last_color_number = number
        frame = self._frame(color, receive_ns)
        if self.depth:
            frame.depth = self._matching_depth(frames, color)
            if frame.depth is None:
                self._pending = frame
                return None
        return frame

    def _complete_pending(self, frames) -> Frame | None:
        color = frames.get_color_frame()
        depth = self._matching_depth(frames, color)
        if depth is None:
            return None
        frame, self._pending = self._pending, None
        frame.depth = depth
        return frame

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
                     depth_units_m=self._depth_units_m, sequence=color.get_frame_number(),
                     extra={"timestamp_domain": str(color.get_frame_timestamp_domain())})

    def _stamp(self, color, receive_ns: int) -> int:
        rs = _rs()
        device_ns = round(color.get_timestamp() * 1e6)
        if self.stamp_mode == "receive":
            return receive_ns
        if self._playback is not None:
            return device_ns
        domain = color.get_frame_timestamp_domain()
        if self.stamp_mode == "auto" and domain != rs.timestamp_domain.hardware_clock:
            return device_ns
        return self.offset_filter.stamp(device_ns, receive_ns)
