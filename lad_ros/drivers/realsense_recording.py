"""Write RealSense recordings from frames we have: a `software_device` seen through `rs.recorder`.

The file is what librealsense itself writes when recording a camera, so `RealSenseSource` plays
it back through the very code path a recording of a real D4xx takes. pyrealsense2 2.59 writes
rosbag2 (SQLite, `.db3`); older wheels wrote ROS 1 `.bag`. The recorder stores each frame at the
host time it was handed over, and playback replays at that pace, so write frames at the rate
they should play back at. Frame timestamps are stored in the global_time domain (host clock, ms).
"""
from __future__ import annotations

import numpy as np

from lad_ros.drivers.camera_source import Frame, Intrinsics


def _rs_intrinsics(rs, intr: Intrinsics):
    result = rs.intrinsics()
    result.width, result.height = intr.width, intr.height
    result.fx, result.fy, result.ppx, result.ppy = intr.fx, intr.fy, intr.cx, intr.cy
    if intr.model == "equidistant":
        result.model = rs.distortion.kannala_brandt4
    else:
        result.model = rs.distortion.brown_conrady
    result.coeffs = list(intr.coeffs) + [0.0] * (5 - len(intr.coeffs))
    return result


def recorded_stamp_ns(stamp_ns: int) -> int:
    """The stamp a frame written at stamp_ns plays back with: librealsense keeps milliseconds as
    a double, which resolves epoch times to about 0.25 us."""
    return round((stamp_ns / 1e6) * 1e6)


class RealSenseRecordingWriter:
    """`with RealSenseRecordingWriter(path, intrinsics, fps, depth=True) as w: w.write(frame)`."""

    def __init__(self, path: str, intrinsics: Intrinsics, fps: int, depth: bool = False,
                 depth_units_m: float = 0.001):
        import pyrealsense2 as rs
        self._rs = rs
        self.intrinsics, self.depth, self._count = intrinsics, depth, 0
        self._device = rs.software_device()
        self._device.register_info(rs.camera_info.name, "lad_ros software camera")
        self._device.register_info(rs.camera_info.serial_number, "000000000000")
        self._sensors, self._profiles, self._queues = [], [], []
        color_sensor = self._device.add_sensor("RGB Camera")
        self._add_stream(color_sensor, rs.stream.color, rs.format.rgb8, 3, fps, uid=0)
        if depth:
            depth_sensor = self._device.add_sensor("Stereo Module")
            depth_sensor.add_read_only_option(rs.option.depth_units, depth_units_m)
            self._add_stream(depth_sensor, rs.stream.depth, rs.format.z16, 2, fps, uid=1)
            identity = rs.extrinsics()
            identity.rotation, identity.translation = [1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0]
            self._profiles[1].register_extrinsics_to(self._profiles[0], identity)
        # The recorder must exist before the sensors open to see their streams.
        self._recorder = rs.recorder(str(path), self._device)
        for sensor, profile, queue in zip(self._sensors, self._profiles, self._queues):
            sensor.open(profile)
            sensor.start(queue)

    def _add_stream(self, sensor, kind, fmt, bpp: int, fps: int, uid: int) -> None:
        stream = self._rs.video_stream()
        stream.type, stream.index, stream.uid = kind, 0, uid
        stream.width, stream.height = self.intrinsics.width, self.intrinsics.height
        stream.fps, stream.bpp, stream.fmt = fps, bpp, fmt
        stream.intrinsics = _rs_intrinsics(self._rs, self.intrinsics)
        self._sensors.append(sensor)
        self._profiles.append(sensor.add_video_stream(stream))
        self._queues.append(self._rs.frame_queue(4))

    def write(self, frame: Frame) -> None:
        """Record one frame (and its depth if the recording has depth) at frame.stamp_ns."""
        images = [np.ascontiguousarray(frame.rgb, dtype=np.uint8)]
        if self.depth:
            if frame.depth is None:
                raise ValueError("this recording has a depth stream: frame.depth is required")
            images.append(np.ascontiguousarray(frame.depth, dtype=np.uint16))
        for sensor, profile, image in zip(self._sensors, self._profiles, images):
            software_frame = self._rs.software_video_frame()
            software_frame.pixels = image
            software_frame.bpp = image.itemsize * (image.shape[2] if image.ndim == 3 else 1)
            software_frame.stride = image.shape[1] * software_frame.bpp
            software_frame.timestamp = frame.stamp_ns / 1e6
            software_frame.domain = self._rs.timestamp_domain.global_time
            software_frame.frame_number = self._count
            software_frame.profile = profile.as_video_stream_profile()
            sensor.on_video_frame(software_frame)
        for queue in self._queues:
            while queue.poll_for_frame():
                pass  # the recorder has the frame; drop our copy so the queue never fills
        self._count += 1

    def close(self) -> None:
        if self._recorder is None:
            return
        for sensor in self._sensors:
            sensor.stop()
            sensor.close()
        self._recorder = None  # releasing the recorder finishes the file

    def __enter__(self) -> "RealSenseRecordingWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
