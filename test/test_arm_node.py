"""Arm node (real rclpy) against franky-sim started by the fixture: a timed Path is reached,
unsafe targets never reach franky, a stale trajectory holds, e-stop refuses commands, a killed
simulator is an ERROR the node survives and recovers from, and a tool change moves the TCP.

Every pose the driver hands to franky is recorded (the driver's own send method, wrapped), so
"never reaches franky" is checked on what was actually sent, not on what was published.
"""
import math
import threading
import time

import numpy as np
import pytest
import yaml
from scipy.spatial.transform import Rotation

from franky_sim_fixture import franky_sim  # noqa: F401 - fixture
from lad_ros.safety import quaternion_angle

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

REACH_TOLERANCE_M, REACH_TOLERANCE_RAD = 0.025, 0.05


class ArmHarness:
    def __init__(self, context, sim, **parameters):
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from geometry_msgs.msg import PoseStamped
        from nav_msgs.msg import Path
        from rcl_interfaces.srv import SetParameters
        from rclpy.executors import SingleThreadedExecutor
        from sensor_msgs.msg import JointState
        from std_srvs.srv import Trigger

        from lad_ros.nodes.arm_node import ArmNode
        from lad_ros.nodes.ros_common import QOS_COMMANDS, QOS_STATE

        overrides = {"robot_ip": sim.hostname, "realtime": "ignore", **parameters}
        self.node = ArmNode(context=context, parameter_overrides=[
            rclpy.parameter.Parameter(k, value=v) for k, v in overrides.items()])
        self.sent = []
        send = self.node.driver._send_pose

        def record_and_send(robot, pose):
            self.sent.append(pose)
            send(robot, pose)

        self.node.driver._send_pose = record_and_send
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

        self.peer = rclpy.create_node("arm_test_peer", context=context)
        self.peer_executor = SingleThreadedExecutor(context=context)
        self.peer_executor.add_node(self.peer)
        self.poses, self.joint_states, self.reports = [], [], []
        self.peer.create_subscription(PoseStamped, "/lad/arm/ee_pose", self.poses.append,
                                      QOS_STATE)
        self.peer.create_subscription(JointState, "/lad/arm/joint_states",
                                      self.joint_states.append, QOS_STATE)
        self.peer.create_subscription(
            DiagnosticArray, "/diagnostics",
            lambda m: self.reports.extend(s for s in m.status if s.name == "lad_ros/arm"), 10)
        self.path_pub = self.peer.create_publisher(Path, "/lad/arm/trajectory", QOS_COMMANDS)
        self.target_pub = self.peer.create_publisher(PoseStamped, "/lad/arm/target_pose",
                                                     QOS_COMMANDS)
        self.clients = {name: self.peer.create_client(Trigger, f"/arm/{name}")
                        for name in ("recover", "estop", "reset", "home")}
        self.set_parameters = self.peer.create_client(SetParameters, "/arm/set_parameters")
        self.PoseStamped, self.Path, self.Trigger = PoseStamped, Path, Trigger

    def close(self):
        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        self.peer.destroy_node()

    # ---- helpers ------------------------------------------------------------------------------
    def spin(self, seconds, condition=lambda: False):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.peer_executor.spin_once(timeout_sec=0.02)
            if condition():
                return True
        return condition()

    def now_ns(self):
        return self.peer.get_clock().now().nanoseconds

    def report(self, key=None):
        status = self.reports[-1]
        return status if key is None else {kv.key: kv.value for kv in status.values}[key]

    def wait_ready(self, timeout_s=20.0):
        assert self.spin(timeout_s, lambda: self.poses and self.reports
                         and level(self.reports[-1]) == 0
                         and self.report("tool") == "franka_gripper"), self.reports[-1:]

    def ee(self):
        pose = self.poses[-1].pose
        return (np.array([pose.position.x, pose.position.y, pose.position.z]),
                np.array([pose.orientation.x, pose.orientation.y, pose.orientation.z,
                          pose.orientation.w]))

    def pose_msg(self, xyz, quat, stamp_ns=0):
        from lad_ros.nodes.ros_common import header
        msg = self.PoseStamped(header=header(stamp_ns or self.now_ns(), "fr3_link0"))
        msg.pose.position.x, msg.pose.position.y, msg.pose.position.z = map(float, xyz)
        (msg.pose.orientation.x, msg.pose.orientation.y, msg.pose.orientation.z,
         msg.pose.orientation.w) = map(float, quat)
        return msg

    def path_msg(self, times_ns, xyz, quats):
        from lad_ros.nodes.ros_common import header
        return self.Path(header=header(self.now_ns(), "fr3_link0"),
                         poses=[self.pose_msg(p, q, t) for t, p, q in zip(times_ns, xyz, quats)])

    def stream_target(self, xyz, quat, seconds, rate_hz=30.0):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.target_pub.publish(self.pose_msg(xyz, quat))
            self.spin(1.0 / rate_hz)

    def call(self, name, timeout_s=10.0):
        client = self.clients[name]
        assert client.wait_for_service(timeout_sec=timeout_s)
        future = client.call_async(self.Trigger.Request())
        assert self.spin(timeout_s, future.done), f"{name} did not answer"
        return future.result()


@pytest.fixture
def arm(ros_context, franky_sim):  # noqa: F811
    harnesses = []

    def make(**parameters):
        harness = ArmHarness(ros_context, franky_sim, **parameters)
        harnesses.append(harness)
        harness.wait_ready()
        return harness

    yield make
    for harness in harnesses:
        harness.close()


def level(status) -> int:
    """DiagnosticStatus.level is a byte in rclpy: 0 OK, 1 WARN, 2 ERROR."""
    return status.level if isinstance(status.level, int) else ord(status.level)


def rotated_about_z(quat, angle):
    return (Rotation.from_euler("z", angle) * Rotation.from_quat(quat)).as_quat()


def assert_all_sent_safe(sent, box_lower, box_upper):
    assert sent, "nothing was sent"
    for pose in sent:
        assert np.all(np.isfinite(pose.xyz)) and np.all(np.isfinite(pose.quat))
        assert np.all(pose.xyz >= box_lower - 1e-9) and np.all(pose.xyz <= box_upper + 1e-9)
        assert abs(np.linalg.norm(pose.quat) - 1.0) < 1e-6


def test_timed_path_is_reached_and_state_is_published(arm):
    harness = arm()
    start_xyz, start_quat = harness.ee()
    goal_xyz = start_xyz + [0.08, -0.06, 0.05]
    goal_quat = rotated_about_z(start_quat, 0.3)
    n, duration_s = 31, 3.0
    begin = harness.now_ns() + int(0.3e9)
    times = begin + (np.linspace(0.0, duration_s, n) * 1e9).astype(np.int64)
    fractions = np.linspace(0.0, 1.0, n)
    xyz = start_xyz + np.outer(fractions, goal_xyz - start_xyz)
    quats = [rotated_about_z(start_quat, 0.3 * f) for f in fractions]
    path = harness.path_msg(times, xyz, quats)
    # Re-published like a policy decoder streams chunks (the stale watchdog is on).
    while harness.now_ns() < times[-1]:
        harness.path_pub.publish(path)
        harness.spin(0.2)
    harness.spin(3.0)
    final_xyz, final_quat = harness.ee()
    error_m = np.linalg.norm(final_xyz - goal_xyz)
    error_rad = quaternion_angle(final_quat, goal_quat / np.linalg.norm(goal_quat))
    print(f"\nPath end error: {error_m * 1000:.1f} mm, {math.degrees(error_rad):.2f} deg; "
          f"{len(harness.sent)} motions sent")
    assert error_m < REACH_TOLERANCE_M and error_rad < REACH_TOLERANCE_RAD
    assert_all_sent_safe(harness.sent, np.array([0.20, -0.50, 0.02]),
                         np.array([0.85, 0.50, 0.80]))

    # State: joint names, capture stamps increasing, the rate (a benchmark, not asserted).
    before = len(harness.joint_states)
    harness.spin(2.0)
    window = harness.joint_states[before:]
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in window]
    print(f"joint_states: {len(window) / 2.0:.0f} Hz received over 2 s")
    assert window and window[-1].name == [f"fr3_joint{i}" for i in range(1, 8)]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    assert harness.poses[-1].header.frame_id == "fr3_link0"


def test_unsafe_targets_never_reach_franky_and_estop_refuses(arm, tmp_path):
    from lad_ros.safety import load_safety_config
    shipped = load_safety_config()
    # A box whose +x face is 3 cm in front of the start pose (0.554 m), so clamping shows.
    data = yaml.safe_load(open(shipped.file, encoding="utf-8"))
    data["arm"]["workspace"]["upper_m"][0] = 0.585
    safety_file = tmp_path / "safety.yaml"
    safety_file.write_text(yaml.safe_dump(data))
    lower = np.array(data["arm"]["workspace"]["lower_m"])
    upper = np.array(data["arm"]["workspace"]["upper_m"])

    harness = arm(safety_config=str(safety_file))
    start_xyz, start_quat = harness.ee()
    for xyz, quat in [([math.nan, 0.0, 0.4], start_quat), ([math.inf, 0.0, 0.4], start_quat),
                      (start_xyz, [0.0, 0.0, 0.0, 0.0]), (start_xyz, [math.nan, 0, 0, 1])]:
        harness.stream_target(xyz, quat, 0.2)
    assert not harness.sent, "a non-finite or degenerate target produced a motion"
    bad_path = harness.path_msg([harness.now_ns() + int(1e8), harness.now_ns() + int(2e8)],
                                [start_xyz, [math.nan, 0.0, 0.4]], [start_quat, start_quat])
    harness.path_pub.publish(bad_path)
    harness.spin(1.0, lambda: harness.report("rejected_messages") == "1")
    assert harness.report("rejected_messages") == "1"

    harness.stream_target(start_xyz + [5.0, 0.0, 0.0], start_quat, 2.5)   # far outside the box
    harness.spin(1.0)
    assert_all_sent_safe(harness.sent, lower, upper)
    measured_x = harness.ee()[0][0]
    assert measured_x == pytest.approx(0.585, abs=0.01)
    assert int(harness.report("clamped")) > 0

    harness.call("estop")
    sent_before = len(harness.sent)
    harness.stream_target(start_xyz, start_quat, 1.0)
    assert len(harness.sent) == sent_before and level(harness.report()) == 1   # WARN
    assert harness.ee()[0][0] == pytest.approx(measured_x, abs=0.005)
    harness.call("reset")
    harness.stream_target(start_xyz, start_quat, 2.5)
    assert np.linalg.norm(harness.ee()[0] - start_xyz) < 0.01


def test_stale_trajectory_makes_the_arm_hold(arm):
    harness = arm(trajectory_stale_timeout_s=0.5)
    start_xyz, start_quat = harness.ee()
    n = 31
    times = harness.now_ns() + int(0.2e9) + (np.linspace(0, 3.0, n) * 1e9).astype(np.int64)
    xyz = start_xyz + np.outer(np.linspace(0, 1, n), [0.12, 0.0, 0.0])
    harness.path_pub.publish(harness.path_msg(times, xyz, [start_quat] * n))   # published once
    harness.spin(2.5)
    held_xyz = harness.ee()[0]
    harness.spin(0.8)
    still_xyz = harness.ee()[0]
    print(f"\nheld after {np.linalg.norm(held_xyz - start_xyz) * 1000:.1f} mm of 120 mm")
    assert np.linalg.norm(still_xyz - held_xyz) < 0.002            # not moving
    assert np.linalg.norm(still_xyz - xyz[-1]) > 0.06               # far from the path's end
    assert harness.report("follow_state") == "stale"

    # ~/home: a joint motion to the configured home positions, then commands step from there.
    from lad_ros.drivers.franka_config import load_arm_config
    home = np.array(load_arm_config().home_joint_positions)

    def joints():
        return np.array(harness.joint_states[-1].position)

    harness.call("home")
    harness.spin(0.8)
    harness.call("estop")            # an e-stop also stops a joint motion
    assert harness.spin(5.0, lambda: harness.report("last_home") == "interrupted"), \
        (harness.report("last_home"), harness.reports[-1].message)
    # franky-sim's joint PD lags the command, so the arm settles a moment after the stop;
    # it must come to rest, short of home.
    deadline, previous = time.monotonic() + 10.0, joints()
    while time.monotonic() < deadline:
        harness.spin(0.5)
        stopped = joints()
        if np.max(np.abs(stopped - previous)) < 0.002:
            break
        previous = stopped
    assert np.max(np.abs(stopped - previous)) < 0.002, "the arm did not stop after the e-stop"
    assert np.max(np.abs(stopped - home)) > 0.05
    harness.call("reset")
    harness.call("home")
    assert harness.spin(30.0, lambda: harness.report("last_home") == "reached"), \
        (harness.report("last_home"), harness.reports[-1].message)
    assert np.max(np.abs(joints() - home)) < 0.01


def test_killed_simulator_is_an_error_the_node_survives_and_recovers(arm, franky_sim):  # noqa: F811,E501
    harness = arm()
    start_xyz, start_quat = harness.ee()
    harness.stream_target(start_xyz + [0.03, 0.0, 0.0], start_quat, 0.3)
    franky_sim.kill()
    assert harness.spin(15.0, lambda: level(harness.reports[-1]) == 2), harness.reports[-1]
    print(f"\nERROR after kill: {harness.reports[-1].message}")
    reports = len(harness.reports)
    assert harness.call("recover").success          # services still answer
    assert harness.spin(5.0, lambda: len(harness.reports) > reports + 2)   # node alive
    assert level(harness.reports[-1]) == 2 and "failed" in harness.report("last_recover")

    franky_sim.start()
    harness.call("recover")
    assert harness.spin(15.0, lambda: level(harness.reports[-1]) == 0), harness.reports[-1]
    assert harness.report("connected") == "True"
    restart_xyz, restart_quat = harness.ee()
    target = restart_xyz + [0.0, 0.03, 0.0]
    harness.stream_target(target, restart_quat, 2.5)
    assert np.linalg.norm(harness.ee()[0] - target) < 0.01


def test_tool_change_parameter_moves_the_tcp(arm):
    import rclpy
    from rcl_interfaces.srv import SetParameters
    harness = arm()
    before_xyz, _ = harness.ee()
    request = SetParameters.Request(parameters=[
        rclpy.parameter.Parameter("tool", value="faive").to_parameter_msg()])
    assert harness.set_parameters.wait_for_service(timeout_sec=10.0)
    future = harness.set_parameters.call_async(request)
    assert harness.spin(10.0, future.done) and future.result().results[0].successful
    assert harness.spin(10.0, lambda: harness.report("tool") == "faive")
    harness.spin(0.3)
    after_xyz, _ = harness.ee()
    # Tool pointing down: the TCP moves down by the longer flange->TCP offset (0.16 vs 0.1034 m).
    np.testing.assert_allclose(after_xyz - before_xyz, [0.0, 0.0, -(0.16 - 0.1034)], atol=0.003)
    bad = SetParameters.Request(parameters=[
        rclpy.parameter.Parameter("tool", value="no_such_hand").to_parameter_msg()])
    future = harness.set_parameters.call_async(bad)
    assert harness.spin(10.0, future.done) and not future.result().results[0].successful
