"""The camera node process playing a RealSense recording made here, received over real rclpy."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from test_camera_sources import FPS, HEIGHT, INTRINSICS, WIDTH, write_recording

pytestmark = pytest.mark.integration

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAMES = 60


class CameraListener:
    """A real rclpy subscriber to one camera's topics and /diagnostics, and the node process."""

    def __init__(self, context, name: str):
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.executors import SingleThreadedExecutor
        from sensor_msgs.msg import CameraInfo, Image

        from lad_ros.nodes.ros_common import QOS_IMAGES, QOS_STATE

        self.name = name
        self.node = rclpy.create_node(f"{name}_listener", context=context)
        self.images, self.infos, self.depths, self.diagnostics = [], [], [], []
        prefix = f"/lad/cameras/{name}"
        self.node.create_subscription(Image, f"{prefix}/image_raw",
                                      lambda m: self.images.append((time.monotonic(), m)),
                                      QOS_IMAGES)
        self.node.create_subscription(CameraInfo, f"{prefix}/camera_info", self.infos.append,
                                      QOS_IMAGES)
        self.node.create_subscription(Image, f"{prefix}/aligned_depth_to_color/image_raw",
                                      self.depths.append, QOS_IMAGES)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append,
                                      QOS_STATE)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.process = None
        self.output = ""

    def start_node(self, config_file, *parameters: str) -> None:
        arguments = ["-p", f"camera:={self.name}", "-p", f"config_file:={config_file}"]
        for parameter in parameters:
            arguments += ["-p", parameter]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "lad_ros.nodes.camera_node", "--ros-args", *arguments],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def status(self) -> tuple[int | None, dict]:
        """(level, values) of this camera's newest diagnostic status."""
        for array in reversed(self.diagnostics):
            for status in array.status:
                if status.name == f"lad_ros camera {self.name}":
                    return status.level, {kv.key: kv.value for kv in status.values}
        return None, {}

    def spin_until(self, condition, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not condition() and time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.05)
            assert self.process.poll() is None, self.process.communicate()[0]
        return condition()

    def close(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.output = self.process.communicate(timeout=10)[0]
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.output = self.process.communicate()[0]
        self.executor.shutdown()
        self.node.destroy_node()


def _cameras_yaml(directory, name: str, source: str, extra: str):
    """A one-camera cameras.yaml in `directory` at the test's size and rate."""
    config = directory / "cameras.yaml"
    config.write_text(f"""cameras:
  - name: {name}
    source: {source}
    width: {WIDTH}
    height: {HEIGHT}
    fps: {FPS}
    {extra}
""")
    return config


def test_camera_node_publishes_a_recording_at_its_rate_with_its_stamps(tmp_path, ros_context):
    from lad_ros.drivers.realsense_recording import recorded_stamp_ns
    from lad_ros.nodes.camera_messages import image_pixels
    from lad_ros.nodes.ros_common import ns_from_stamp

    recorded = write_recording(tmp_path / "cell.db3", FRAMES, depth=True)
    config = _cameras_yaml(tmp_path, "front", "realsense", f"""depth: true
    realsense: {{playback_file: {tmp_path / 'cell.db3'}}}""")
    listener = CameraListener(ros_context, "front")
    try:
        listener.start_node(config, "start_when_subscribed:=true")
        listener.spin_until(lambda: listener.status()[1].get("state") == "finished", 60.0)
    finally:
        listener.close()
    images, infos, depths = listener.images, listener.infos, listener.depths

    final = listener.status()[1]
    assert final.get("state") == "finished", (final, listener.output)
    assert final["frames"] == str(FRAMES) and final["reconnects"] == "0"
    assert final["playback_file"].endswith("cell.db3")
    assert final["timestamp_domain"] == "global_time"  # as RealSenseRecordingWriter records

    # Stamps: the recorded ones, in order, none skipped. Playback starts once the node sees our
    # subscription; our side of discovery may complete a moment later (best effort), so the
    # very first frame may be missed.
    expected = [recorded_stamp_ns(f.stamp_ns) for f in recorded]
    stamps = [ns_from_stamp(m.header.stamp) for _, m in images]
    assert len(stamps) >= FRAMES - 2, f"only {len(stamps)} of {FRAMES} images arrived"
    first = expected.index(stamps[0])
    assert stamps == expected[first:first + len(stamps)]
    for (_, message) in images[-3:]:
        index = expected.index(ns_from_stamp(message.header.stamp))
        assert message.header.frame_id == "front_color_optical_frame"
        assert message.encoding == "rgb8"
        np.testing.assert_array_equal(image_pixels(message), recorded[index].rgb)

    # Rate: arrivals follow the recorded 30 Hz (the recording is replayed in real time).
    arrival = [t for t, _ in images]
    mean_period = (arrival[-1] - arrival[0]) / (len(arrival) - 1)
    assert mean_period == pytest.approx(1.0 / FPS, rel=0.25)

    info_stamps = [ns_from_stamp(i.header.stamp) for i in infos]
    assert set(stamps) <= set(info_stamps)
    info = infos[-1]
    assert info.header.frame_id == "front_color_optical_frame"
    assert list(info.k) == pytest.approx([INTRINSICS.fx, 0, INTRINSICS.cx, 0, INTRINSICS.fy,
                                          INTRINSICS.cy, 0, 0, 1])
    assert info.distortion_model == "plumb_bob"

    assert depths, "no aligned depth image arrived"
    assert all(d.encoding == "16UC1" and d.header.frame_id == "front_color_optical_frame"
               for d in depths)
    assert {ns_from_stamp(d.header.stamp) for d in depths} <= set(expected)


def test_camera_node_reports_reconnecting_until_its_device_appears(tmp_path, ros_context):
    """An OpenCV camera whose video is not there yet: /diagnostics says ERROR reconnecting with
    the reason, then, once the file appears, images flow and the state turns OK."""
    import cv2
    from diagnostic_msgs.msg import DiagnosticStatus

    from test_camera_sources import synthetic_frame

    video = tmp_path / "webcam.avi"
    config = _cameras_yaml(tmp_path, "webcam", "opencv", f"""opencv: {{device: {video}, fovy_deg: 60.0}}
    reconnect: {{initial_backoff_s: 0.1, max_backoff_s: 0.5}}""")
    listener = CameraListener(ros_context, "webcam")
    try:
        listener.start_node(config)
        assert listener.spin_until(lambda: listener.status()[0] == DiagnosticStatus.ERROR, 30.0)
        values = listener.status()[1]
        assert values["state"] == "reconnecting" and "no such file" in values["last_error"]
        staging = tmp_path / "staging.avi"
        writer = cv2.VideoWriter(str(staging), cv2.VideoWriter_fourcc(*"MJPG"), FPS,
                                 (WIDTH, HEIGHT))
        for index in range(FPS * 3):
            writer.write(cv2.cvtColor(synthetic_frame(index, 0).rgb, cv2.COLOR_RGB2BGR))
        writer.release()
        staging.rename(video)
        assert listener.spin_until(lambda: len(listener.images) >= 10 and (
            listener.status()[0] == DiagnosticStatus.OK), 30.0), listener.status()
    finally:
        listener.close()
    image = listener.images[-1][1]
    assert (image.width, image.height, image.encoding) == (WIDTH, HEIGHT, "rgb8")
    assert image.header.frame_id == "webcam_color_optical_frame"
    assert listener.status()[1]["state"] == "streaming"
    assert int(listener.status()[1]["reconnects"]) >= 1
