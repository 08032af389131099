"""Hand lifecycle node (real rclpy) against the Dynamixel bus simulator on a pty, for the Faive
and the mimic configs: lifecycle over the standard services, a JointTrajectory is tracked, with
10% dropped packets it still tracks and reports the losses, an overload turns torque off with a
diagnostics ERROR, and ~/reboot clears it."""
import threading
import time

import numpy as np
import pytest

from franky_sim_fixture import franky_sim  # noqa: F401 - fixture

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

TRACK_TOLERANCE_RAD = 0.06


class Harness:
    """The node under test spinning in its own executor thread, plus a peer node."""

    def __init__(self, context, embodiment, port="", **parameters):
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from lifecycle_msgs.srv import ChangeState
        from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
        from sensor_msgs.msg import JointState
        from std_srvs.srv import Trigger
        from trajectory_msgs.msg import JointTrajectory

        from lad_ros.nodes.hand_node import HandNode
        from lad_ros.nodes.ros_common import QOS_COMMANDS, QOS_STATE

        self.node = HandNode(context=context, parameter_overrides=[
            rclpy.parameter.Parameter("embodiment", value=embodiment),
            rclpy.parameter.Parameter("port", value=port),
            rclpy.parameter.Parameter("latency_timer_ms", value=4.0),
            rclpy.parameter.Parameter("diagnostics_period_s", value=0.25),
            *[rclpy.parameter.Parameter(k, value=v) for k, v in parameters.items()]])
        self.executor = MultiThreadedExecutor(num_threads=2, context=context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

        self.peer = rclpy.create_node("hand_test_peer", context=context)
        self.peer_executor = SingleThreadedExecutor(context=context)
        self.peer_executor.add_node(self.peer)
        self.states, self.reports = [], []
        self.peer.create_subscription(JointState, "/lad/hand/joint_states", self.states.append,
                                      QOS_STATE)
        self.peer.create_subscription(
            DiagnosticArray, "/diagnostics",
            lambda m: self.reports.extend(s for s in m.status if s.name.startswith("hand:")),
            QOS_STATE)
        self.trajectory = self.peer.create_publisher(JointTrajectory, "/lad/hand/trajectory",
                                                     QOS_COMMANDS)
        self.command = self.peer.create_publisher(JointState, "/lad/hand/command", QOS_COMMANDS)
        self.change_state = self.peer.create_client(ChangeState, "/hand/change_state")
        self.reboot = self.peer.create_client(Trigger, "/hand/reboot")
        self.ChangeState, self.Trigger = ChangeState, Trigger

    def spin_until(self, condition, timeout_s):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.peer_executor.spin_once(timeout_sec=0.02)
            if condition():
                return True
        return False

    def call(self, client, request, timeout_s=15.0):
        assert client.wait_for_service(timeout_sec=timeout_s), client.srv_name
        future = client.call_async(request)
        assert self.spin_until(future.done, timeout_s), f"{client.srv_name} did not answer"
        return future.result()

    def transition(self, transition_id):
        request = self.ChangeState.Request()
        request.transition.id = transition_id
        return self.call(self.change_state, request).success

    def latest_position(self, names):
        message = self.states[-1]
        by_name = dict(zip(message.name, message.position))
        return np.array([by_name[n] for n in names])

    def send_trajectory(self, names, start, goal, duration_s=1.0, steps=10, order=None):
        from builtin_interfaces.msg import Duration
        from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

        from lad_ros.nodes.ros_common import stamp_from_ns
        order = list(range(len(names))) if order is None else order
        message = JointTrajectory()
        message.header.stamp = stamp_from_ns(self.peer.get_clock().now().nanoseconds
                                             + 100_000_000)
        message.joint_names = [names[i] for i in order]
        for k in range(steps + 1):
            fraction = k / steps
            point = start + fraction * (goal - start)
            t_ns = int(fraction * duration_s * 1e9)
            message.points.append(JointTrajectoryPoint(
                positions=[float(point[i]) for i in order],
                time_from_start=Duration(sec=t_ns // 1_000_000_000, nanosec=t_ns % 1_000_000_000)))
        self.trajectory.publish(message)

    def wait_for_report(self, predicate, timeout_s):
        start = len(self.reports)
        return self.spin_until(lambda: any(predicate(r) for r in self.reports[start:]),
                               timeout_s)

    def close(self):
        self.executor.shutdown()
        self.thread.join(timeout=5.0)
        if self.node.driver is not None:
            self.node.driver.close()
        self.node.destroy_node()
        self.peer_executor.shutdown()
        self.peer.destroy_node()


def _values(report):
    return {kv.key: kv.value for kv in report.values}


def _start_ticks(config):
    from lad_ros.drivers.joint_motor_map import JointMotorMap
    return JointMotorMap.from_embodiment(config).goal_ticks(np.array(config.neutral)).tolist()


@pytest.mark.parametrize("embodiment", ["faive", "mimic"])
def test_hand_node_tracks_survives_losses_and_recovers_from_overload(ros_context, embodiment):
    from diagnostic_msgs.msg import DiagnosticStatus
    from lifecycle_msgs.msg import Transition

    from lad_ros.drivers import dynamixel_protocol as dxl
    from lad_ros.embodiment import load_embodiment
    from lad_ros.sim.dynamixel_bus import DynamixelBusSimulator

    config = load_embodiment(embodiment)
    names = config.joint_names
    ids = list(config.driver.params["motor_ids"])
    lower, upper = np.array(config.lower), np.array(config.upper)
    with DynamixelBusSimulator(ids, initial_ticks=_start_ticks(config), seed=7) as sim:
        harness = Harness(ros_context, embodiment, sim.port)
        try:
            assert harness.transition(Transition.TRANSITION_CONFIGURE)
            assert harness.transition(Transition.TRANSITION_ACTIVATE)
            assert all(sim.read_field(i, dxl.TORQUE_ENABLE) == 1 for i in ids)
            assert harness.spin_until(lambda: len(harness.states) > 5, 10.0)
            assert list(harness.states[-1].name) == names

            # 1. a trajectory (joint names shuffled) is tracked
            start = harness.latest_position(names)
            goal = lower + 0.6 * (upper - lower)
            shuffled = list(np.random.default_rng(0).permutation(len(names)))
            harness.send_trajectory(names, start, goal, order=shuffled)
            harness.spin_until(lambda: False, 2.0)
            reached = harness.latest_position(names)
            assert np.max(np.abs(reached - goal)) < TRACK_TOLERANCE_RAD, reached - goal
            stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec
                      for m in harness.states[-20:]]
            assert all(b > a for a, b in zip(stamps, stamps[1:])), "stamps must be capture times"

            # 1b. teleop: a JointState stream (names shuffled, a subset) is tracked while it
            # flows and held when it stops
            from lad_ros.nodes.ros_common import joint_state
            subset = shuffled[:3]
            teleop_goal = reached.copy()
            teleop_goal[subset] = lower[subset] + 0.4 * (upper[subset] - lower[subset])
            for _ in range(60):
                harness.command.publish(joint_state([names[i] for i in subset],
                                                    teleop_goal[subset], time.time_ns()))
                harness.spin_until(lambda: False, 0.03)
            harness.spin_until(lambda: False, 0.5)
            reached = harness.latest_position(names)
            assert np.max(np.abs(reached - teleop_goal)) < TRACK_TOLERANCE_RAD
            harness.spin_until(lambda: False, 0.5)  # past the 0.5 s command watchdog: held
            assert np.max(np.abs(harness.latest_position(names) - teleop_goal)) < \
                TRACK_TOLERANCE_RAD

            # 2. with 10% of the packets lost it still tracks, and reports the losses
            sim.drop_probability = 0.10
            back = lower + 0.3 * (upper - lower)
            harness.send_trajectory(names, reached, back)
            assert harness.wait_for_report(
                lambda r: r.level == DiagnosticStatus.WARN and "losses" in r.message, 10.0)
            harness.spin_until(lambda: False, 2.0)
            assert np.max(np.abs(harness.latest_position(names) - back)) < TRACK_TOLERANCE_RAD
            assert sim.counters.dropped > 0
            assert int(_values(harness.reports[-1])["timeouts"]) > 0
            sim.drop_probability = 0.0

            # 3. a blocked finger overloads: its motor raises the overload bit, every motor of
            # the hand goes torque-off and diagnostics turn ERROR
            sim.block(ids[3])
            assert harness.wait_for_report(
                lambda r: r.level == DiagnosticStatus.ERROR and "overload" in r.message, 10.0)
            assert all(sim.read_field(i, dxl.TORQUE_ENABLE) == 0 for i in ids)
            assert sim.read_field(ids[3], dxl.HARDWARE_ERROR_STATUS) & (1 << dxl.OVERLOAD_BIT)

            # 4. reboot clears it; the active node holds again and reports OK
            response = harness.call(harness.reboot, harness.Trigger.Request())
            assert response.success, response.message
            assert sim.read_field(ids[3], dxl.HARDWARE_ERROR_STATUS) == 0
            assert all(sim.read_field(i, dxl.TORQUE_ENABLE) == 1 for i in ids)
            assert harness.wait_for_report(lambda r: r.level == DiagnosticStatus.OK, 10.0)

            # 5. deactivate = torque off; cleanup frees the port
            assert harness.transition(Transition.TRANSITION_DEACTIVATE)
            assert all(sim.read_field(i, dxl.TORQUE_ENABLE) == 0 for i in ids)
            assert harness.transition(Transition.TRANSITION_CLEANUP)
            assert harness.node.driver is None
        finally:
            harness.close()


def test_configure_fails_cleanly_without_the_device(ros_context):
    from lifecycle_msgs.msg import Transition

    harness = Harness(ros_context, "faive", "/dev/lad-no-such-port")
    try:
        assert not harness.transition(Transition.TRANSITION_CONFIGURE)
        assert harness.node.driver is None
        assert harness.wait_for_report(lambda r: r.message == "unconfigured", 10.0)
    finally:
        harness.close()


def test_one_node_swaps_faive_for_mimic_through_its_lifecycle(ros_context):
    from lifecycle_msgs.msg import Transition
    from rclpy.parameter import Parameter

    from lad_ros.drivers import dynamixel_protocol as dxl
    from lad_ros.embodiment import load_embodiment
    from lad_ros.sim.dynamixel_bus import DynamixelBusSimulator

    faive, mimic = load_embodiment("faive"), load_embodiment("mimic")
    faive_ids, mimic_ids = faive.driver.params["motor_ids"], mimic.driver.params["motor_ids"]
    with DynamixelBusSimulator(faive_ids, initial_ticks=_start_ticks(faive)) as faive_bus, \
            DynamixelBusSimulator(mimic_ids, initial_ticks=_start_ticks(mimic)) as mimic_bus:
        harness = Harness(ros_context, "faive", faive_bus.port)
        try:
            assert harness.transition(Transition.TRANSITION_CONFIGURE)
            assert harness.transition(Transition.TRANSITION_ACTIVATE)
            assert harness.spin_until(lambda: harness.states, 10.0)
            assert list(harness.states[-1].name) == faive.joint_names

            assert harness.transition(Transition.TRANSITION_DEACTIVATE)
            assert all(faive_bus.read_field(i, dxl.TORQUE_ENABLE) == 0 for i in faive_ids)
            assert harness.transition(Transition.TRANSITION_CLEANUP)
            harness.node.set_parameters([Parameter("embodiment", value="mimic"),
                                         Parameter("port", value=mimic_bus.port)])
            assert harness.transition(Transition.TRANSITION_CONFIGURE)
            assert harness.transition(Transition.TRANSITION_ACTIVATE)
            assert all(mimic_bus.read_field(i, dxl.TORQUE_ENABLE) == 1 for i in mimic_ids)
            harness.states.clear()
            assert harness.spin_until(lambda: harness.states, 10.0)
            assert list(harness.states[-1].name) == mimic.joint_names
        finally:
            harness.close()


def test_hand_node_drives_the_franka_gripper_too(ros_context, franky_sim):  # noqa: F811
    from lifecycle_msgs.msg import Transition

    harness = Harness(ros_context, "franka_gripper", robot_ip=franky_sim.hostname)
    try:
        assert harness.transition(Transition.TRANSITION_CONFIGURE)
        assert harness.transition(Transition.TRANSITION_ACTIVATE)
        assert harness.spin_until(lambda: harness.states, 15.0)
        assert list(harness.states[-1].name) == ["gripper_width"]
        start = harness.latest_position(["gripper_width"])
        harness.send_trajectory(["gripper_width"], start, np.array([1.0]), duration_s=0.5)
        assert harness.spin_until(
            lambda: harness.latest_position(["gripper_width"])[0] > 0.95, 20.0)
        assert harness.transition(Transition.TRANSITION_DEACTIVATE)
        assert harness.transition(Transition.TRANSITION_CLEANUP)
    finally:
        harness.close()
