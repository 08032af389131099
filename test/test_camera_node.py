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


def test_camera_node_publishes_a_recording_at_its_rate_with_its_stamps(tmp_path, ros_context):
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import CameraInfo, Image

    from lad_ros.drivers.realsense_recording import recorded_stamp_ns
    from lad_ros.nodes.camera_messages import image_pixels
    from lad_ros.nodes.ros_common import QOS_IMAGES, QOS_STATE, ns_from_stamp

    recorded = write_recording(tmp_path / "cell.db3", FRAMES, depth=True)
    config = tmp_path / "cameras.yaml"
    config.write_text(f"""cameras:
  - name: front
    source: realsense
    width: {WIDTH}
    height: {HEIGHT}
    fps: {FPS}
    depth: true
    realsense: {{playback_file: {tmp_path / 'cell.db3'}}}
""")
    node = rclpy.create_node("camera_listener", context=ros_context)
    images, infos, depths, diagnostics = [], [], [], []
    node.create_subscription(Image, "/lad/cameras/front/image_raw",
                             lambda m: images.append((time.monotonic(), m)), QOS_IMAGES)
    node.create_subscription(CameraInfo, "/lad/cameras/front/camera_info", infos.append,
                             QOS_IMAGES)
    node.create_subscription(Image, "/lad/cameras/front/aligned_depth_to_color/image_raw",
                             depths.append, QOS_IMAGES)
    node.create_subscription(DiagnosticArray, "/diagnostics", diagnostics.append, QOS_STATE)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)

    process = subprocess.Popen(
        [sys.executable, "-m", "lad_ros.nodes.camera_node", "--ros-args",
         "-p", "camera:=front", "-p", f"config_file:={config}",
         "-p", "start_when_subscribed:=true"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def state():
        for array in reversed(diagnostics):
            for status in array.status:
                if status.name == "lad_ros camera front":
                    return {kv.key: kv.value for kv in status.values}
        return {}

    try:
        deadline = time.monotonic() + 60.0
        while state().get("state") != "finished" and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
            assert process.poll() is None, process.communicate()[0]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            output = process.communicate(timeout=10)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output = process.communicate()[0]
        executor.shutdown()
        node.destroy_node()

    final = state()
    assert final.get("state") == "finished", (final, output)
    assert final["frames"] == str(FRAMES) and final["reconnects"] == "0"
    assert final["playback_file"].endswith("cell.db3")

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
