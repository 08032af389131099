"""Camera node: a camera of config/cameras.yaml on /lad/cameras/<name>/…, health on /diagnostics.

    ros2 run lad_ros camera_node --ros-args -p camera:=front [-p config_file:=/path/cameras.yaml]

Frames are grabbed on the grabber's thread and published from there; the executor only runs the
1 Hz diagnostics timer. The sim cell publishes its cameras with CameraPublisher and a SimSource.
"""
from __future__ import annotations

import sys

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from lad_ros.camera_config import CameraConfig, load_camera, source_for
from lad_ros.drivers.camera_grabber import Backoff, Grabber, GrabberStatus
from lad_ros.drivers.camera_source import Frame, FrameSource
from lad_ros.image_transport import use_large_image_profile
from lad_ros.nodes.camera_messages import camera_info_message, image_message
from lad_ros.nodes.ros_common import (QOS_IMAGES, QOS_STATE, diagnostic_status, header,
                                      spin_until_shutdown)

LEVEL_BY_STATE = {"streaming": "OK", "finished": "OK", "connecting": "WARN",
                  "reconnecting": "ERROR", "stopped": "STALE"}


def diagnostic_level(status: GrabberStatus, fps: float) -> tuple[str, str]:
    """(level, message): streaming below half the configured rate is a warning."""
    level = LEVEL_BY_STATE[status.state]
    if status.state == "streaming" and status.frames > 10 and status.rate_hz < 0.5 * fps:
        return "WARN", f"streaming at {status.rate_hz:.1f} Hz of {fps} Hz"
    if status.state == "reconnecting":
        return level, f"reconnecting: {status.last_error}"
    if status.state == "finished":
        return level, "playback finished"
    return level, status.state


class CameraPublisher:
    """Publishes one camera's frames (image, camera_info, aligned depth) from a FrameSource."""

    def __init__(self, node: Node, config: CameraConfig, source: FrameSource):
        self.config, self.started = config, False
        prefix, depth_prefix = config.topic_prefix, config.depth_topic_prefix
        self._image = node.create_publisher(Image, f"{prefix}/image_raw", QOS_IMAGES)
        # camera_info reliable (as realsense-ros): best-effort and reliable readers both match.
        self._info = node.create_publisher(CameraInfo, f"{prefix}/camera_info", QOS_STATE)
        self._depth = self._depth_info = None
        if config.depth:
            self._depth = node.create_publisher(Image, f"{depth_prefix}/image_raw", QOS_IMAGES)
            self._depth_info = node.create_publisher(CameraInfo, f"{depth_prefix}/camera_info",
                                                     QOS_STATE)
        policy = config.reconnect
        self.grabber = Grabber(source, self._publish, policy.stall_timeout_s,
                               Backoff(policy.initial_backoff_s, policy.max_backoff_s),
                               name=config.name)

    def start(self) -> None:
        self.started = True
        self.grabber.start()

    def has_subscribers(self) -> bool:
        return self._image.get_subscription_count() > 0

    def stop(self) -> None:
        self.grabber.stop()

    def _publish(self, frame: Frame) -> None:
        """Runs on the grabber thread: rclpy publishers may be used from any thread."""
        frame_id = self.config.frame_id
        info = camera_info_message(frame.intrinsics, frame.stamp_ns, frame_id)
        self._image.publish(image_message(frame.rgb, frame.stamp_ns, frame_id))
        self._info.publish(info)
        if self._depth is not None and frame.depth is not None:
            # Aligned to colour: same pixel grid, intrinsics and optical frame as colour.
            self._depth.publish(image_message(frame.depth, frame.stamp_ns, frame_id))
            self._depth_info.publish(info)

    def diagnostic(self):
        status = self.grabber.status()
        level, message = diagnostic_level(status, self.config.fps)
        if not self.started:
            message = "waiting for a subscriber before starting"
        values = {"state": status.state, "frames": status.frames,
                  "rate_hz": f"{status.rate_hz:.2f}", "configured_fps": self.config.fps,
                  "reconnects": status.reconnects, "last_error": status.last_error,
                  "capture_to_publish_ms": ("" if status.capture_to_handoff_ms is None
                                            else f"{status.capture_to_handoff_ms:.1f}"),
                  "source": self.config.source, **status.info}
        hardware_id = status.info.get("serial_number") or status.info.get("device") or \
            self.config.name
        return diagnostic_status(f"lad_ros camera {self.config.name}", str(hardware_id), level,
                                 message, values)


class CameraNode(Node):
    def __init__(self, **node_kwargs):
        super().__init__("camera", **node_kwargs)
        name = self.declare_parameter("camera", "front").value
        config_file = self.declare_parameter("config_file", "").value or None
        # Replaying a recording into a recorder or a policy: start once someone listens, so
        # the first frames are not lost to discovery (images are best effort).
        self._start_when_subscribed = self.declare_parameter("start_when_subscribed",
                                                             False).value
        config = load_camera(name, config_file)
        self.camera = CameraPublisher(self, config, source_for(config))
        self._diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", QOS_STATE)
        self.create_timer(1.0, self._publish_diagnostics)
        self._start_timer = None
        if self._start_when_subscribed:
            self._start_timer = self.create_timer(0.05, self._start_once_subscribed)
        else:
            self.camera.start()
        self.get_logger().info(f"camera {name}: {config.source} {config.width}x{config.height}"
                               f"@{config.fps} on {config.topic_prefix}")

    def _start_once_subscribed(self) -> None:
        if self.camera.has_subscribers():
            self._start_timer.cancel()
            self.camera.start()

    def _publish_diagnostics(self) -> None:
        now_ns = self.get_clock().now().nanoseconds
        self._diagnostics.publish(DiagnosticArray(header=header(now_ns),
                                                  status=[self.camera.diagnostic()]))

    def destroy_node(self):
        self.camera.stop()
        return super().destroy_node()


def main(args: list[str] | None = None) -> int:
    use_large_image_profile()  # before rclpy.init: images must fit Fast DDS shared memory
    rclpy.init(args=args)
    node = None
    try:
        node = CameraNode()
        spin_until_shutdown(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
