"""Arm node (thin): ROS topics, services and parameters around lad_ros.drivers.franka_arm.

Publishes  /lad/arm/joint_states (JointState), /lad/arm/ee_pose (PoseStamped), /diagnostics
Subscribes /lad/arm/trajectory (nav_msgs/Path: each pose's header.stamp is its absolute time),
           /lad/arm/target_pose (PoseStamped, teleop; held when the stream stops)
Services   ~/recover, ~/estop, ~/reset, ~/home (std_srvs/Trigger). They return at once: the driver
           acts on its own thread and the outcome shows in /diagnostics.
Parameters cell_config, safety_config (paths; empty = shipped), robot_ip, realtime (override
           cell.yaml when set), trajectory_stale_timeout_s (< 0 = cell.yaml), tool (embodiment
           name; setting it at run time performs the tool change: set_ee + set_load).
"""
from __future__ import annotations

import dataclasses

import rclpy
import rclpy.executors
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Point, Pose as PoseMsg, PoseStamped, Quaternion
from nav_msgs.msg import Path
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_srvs.srv import Trigger

from lad_ros.arm_control import timed_pose_points
from lad_ros.config import ConfigError
from lad_ros.drivers.franka_arm import FrankaArm
from lad_ros.drivers.franka_config import load_arm_config
from lad_ros.embodiment import load_embodiment
from lad_ros.nodes.ros_common import (QOS_COMMANDS, QOS_STATE, diagnostic_status, header,
                                      joint_state, ns_from_stamp, spin_until_shutdown)
from lad_ros.safety import load_safety_config


def _xyz(position) -> list[float]:
    return [position.x, position.y, position.z]


def _quat(orientation) -> list[float]:
    return [orientation.x, orientation.y, orientation.z, orientation.w]


class ArmNode(Node):
    def __init__(self, **kwargs):
        super().__init__("arm", **kwargs)
        cell_file = self.declare_parameter("cell_config", "").value or None
        safety_file = self.declare_parameter("safety_config", "").value or None
        config = load_arm_config(cell_file)
        stale = float(self.declare_parameter("trajectory_stale_timeout_s", -1.0).value)
        if stale >= 0:
            config = dataclasses.replace(config, trajectory_stale_timeout_s=stale)
        self.config = config
        self.driver = FrankaArm(config, load_safety_config(safety_file).arm,
                                robot_ip=self.declare_parameter("robot_ip", "").value or None,
                                realtime=self.declare_parameter("realtime", "").value or None,
                                clock_ns=lambda: self.get_clock().now().nanoseconds)
        self._published_stamp = None
        self._rejected_messages = 0

        self.joint_pub = self.create_publisher(JointState, "/lad/arm/joint_states", QOS_STATE)
        self.pose_pub = self.create_publisher(PoseStamped, "/lad/arm/ee_pose", QOS_STATE)
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", QOS_STATE)
        self.create_subscription(Path, "/lad/arm/trajectory", self._on_trajectory, QOS_COMMANDS)
        self.create_subscription(PoseStamped, "/lad/arm/target_pose", self._on_target,
                                 QOS_COMMANDS)
        self.create_service(Trigger, "~/recover", self._on_recover)
        self.create_service(Trigger, "~/estop", self._on_estop)
        self.create_service(Trigger, "~/reset", self._on_reset)
        self.create_service(Trigger, "~/home", self._on_home)
        self.create_timer(1.0 / config.publish_rate_hz, self._publish_state)
        self.create_timer(0.5, self._publish_diagnostics)

        tool_name = self.declare_parameter("tool", config.tool).value
        self.driver.start(self._tool(tool_name))
        self.add_on_set_parameters_callback(self._on_parameters)

    # ---- inputs -----------------------------------------------------------------------------
    def _frame_ok(self, frame_id: str) -> bool:
        return frame_id in ("", self.config.base_frame)

    def _on_trajectory(self, msg: Path) -> None:
        try:
            if not all(self._frame_ok(p.header.frame_id or msg.header.frame_id)
                       for p in msg.poses):
                raise ValueError(f"poses must be in frame '{self.config.base_frame}'")
            points = timed_pose_points([ns_from_stamp(p.header.stamp) for p in msg.poses],
                                       [_xyz(p.pose.position) for p in msg.poses],
                                       [_quat(p.pose.orientation) for p in msg.poses])
        except ValueError as error:
            self._rejected_messages += 1
            self.get_logger().warning(f"trajectory rejected: {error}", throttle_duration_sec=2.0)
            return
        self.driver.set_trajectory(points)

    def _on_target(self, msg: PoseStamped) -> None:
        if not self._frame_ok(msg.header.frame_id):
            self._rejected_messages += 1
            return
        self.driver.set_target(_xyz(msg.pose.position), _quat(msg.pose.orientation))

    def _on_recover(self, _request, response):
        self.driver.request_recover()
        response.success, response.message = True, "recovery requested; see /diagnostics"
        return response

    def _on_estop(self, _request, response):
        self.driver.engage_estop("e-stop service")
        response.success, response.message = True, "e-stop engaged; ~/reset to release"
        return response

    def _on_reset(self, _request, response):
        self.driver.reset_estop()
        response.success, response.message = True, "e-stop released"
        return response

    def _on_home(self, _request, response):
        self.driver.request_home()
        response.success, response.message = True, "homing requested; see /diagnostics"
        return response

    def _tool(self, name: str):
        embodiment = load_embodiment(name)
        if embodiment.tool is None:
            raise ConfigError(embodiment.file, "tool", "a tool section (set_ee/set_load)")
        return name, embodiment.tool

    def _on_parameters(self, params) -> SetParametersResult:
        for param in params:
            if param.name == "tool":
                try:
                    self.driver.request_tool(*self._tool(str(param.value)))
                except ConfigError as error:
                    return SetParametersResult(successful=False, reason=str(error))
        return SetParametersResult(successful=True)

    # ---- outputs ----------------------------------------------------------------------------
    def _publish_state(self) -> None:
        state = self.driver.latest_state()
        if state is None or state.stamp_ns == self._published_stamp:
            return
        self._published_stamp = state.stamp_ns
        self.joint_pub.publish(joint_state(self.config.joint_names, state.positions,
                                           state.stamp_ns, state.velocities, state.efforts))
        xyz, quat = state.ee.xyz, state.ee.quat
        self.pose_pub.publish(PoseStamped(
            header=header(state.stamp_ns, self.config.base_frame),
            pose=PoseMsg(position=Point(x=float(xyz[0]), y=float(xyz[1]), z=float(xyz[2])),
                         orientation=Quaternion(x=float(quat[0]), y=float(quat[1]),
                                                z=float(quat[2]), w=float(quat[3])))))

    def _publish_diagnostics(self) -> None:
        status = self.driver.status()
        state = self.driver.latest_state()
        now_ns = self.get_clock().now().nanoseconds
        if status.error:
            level, message = "ERROR", status.error
        elif status.estop:
            level, message = "WARN", f"e-stop engaged: {status.estop}"
        else:
            level, message = "OK", f"{status.source} ({status.follow_state})"
        values = {"connected": status.connected, "source": status.source,
                  "follow_state": status.follow_state, "tool": status.tool,
                  "last_recover": status.last_recover, "homing": status.homing,
                  "last_home": status.last_home, "rejected_messages": self._rejected_messages,
                  "state_age_s": (f"{(now_ns - state.stamp_ns) / 1e9:.3f}"
                                  if state is not None else "inf"),
                  **status.counters}
        self.diag_pub.publish(DiagnosticArray(
            header=header(now_ns),
            status=[diagnostic_status("lad_ros/arm", self.driver.robot_ip, level, message,
                                      values)]))

    def destroy_node(self):
        self.driver.close()
        return super().destroy_node()


def main(args=None) -> None:
    rclpy.init(args=args)
    node = ArmNode()
    try:
        spin_until_shutdown(node)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
