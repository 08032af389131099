"""Hand node (lifecycle): one end-effector behind the HandDriver interface.

    configure   load the embodiment + safety config, build the driver, connect (no motion)
    activate    torque on holding the measured position, start the control loop
    deactivate  stop the control loop, torque OFF (the hand goes limp: it may be unmounted)
    cleanup     close the driver (the port is free for another node)

Publishes /lad/hand/joint_states (measured, stamped with the bus read time) while active, and
/diagnostics always. Subscribes /lad/hand/trajectory (JointTrajectory; stamp + time_from_start
is each point's absolute time) and /lad/hand/command (JointState, teleop; held when the stream
stops). Service ~/reboot (Trigger) clears hardware errors; an active node then holds again.
Logic lives in lad_ros.hand_control; the driver's own thread does all bus I/O.
"""
from __future__ import annotations

import threading

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from sensor_msgs.msg import JointState
from std_srvs.srv import Trigger
from trajectory_msgs.msg import JointTrajectory

from lad_ros.drivers.factory import make_hand_driver
from lad_ros.embodiment import load_embodiment
from lad_ros.hand_control import HandController, hand_report, trajectory_times_ns
from lad_ros.nodes.ros_common import (QOS_COMMANDS, QOS_STATE, diagnostic_status, header,
                                      joint_state, ns_from_stamp, spin_until_shutdown)
from lad_ros.safety import load_safety_config

SUCCESS, FAILURE = TransitionCallbackReturn.SUCCESS, TransitionCallbackReturn.FAILURE


class HandNode(LifecycleNode):
    def __init__(self, name: str = "hand", **kwargs):
        super().__init__(name, **kwargs)
        self.declare_parameter("embodiment", "faive")       # faive | mimic | franka_gripper
        self.declare_parameter("port", "")                  # "" = the embodiment config's port
        self.declare_parameter("latency_timer_ms", 0.0)     # 0 = the adapter's own (sysfs)
        self.declare_parameter("robot_ip", "")              # gripper: "" = cell.yaml
        self.declare_parameter("control_rate_hz", 100.0)
        self.declare_parameter("trajectory_stale_timeout_s", 0.0)  # 0 = follow to the end
        self.declare_parameter("diagnostics_period_s", 1.0)
        # true: configure + activate at start (a cell without a lifecycle manager); the cell
        # manager leaves it false and drives the transitions itself.
        self.declare_parameter("autostart", False)
        self.driver = None
        self.controller: HandController | None = None
        self._active = False
        self._resync = False              # set by ~/reboot: hold the measured position again
        self._source = "hold"
        self._last_published_ns = 0
        self._report_counters: dict | None = None
        self._driver_ops = threading.Lock()  # enable/disable/reboot never overlap
        self._control_timer = None
        self._entities = []
        self._diagnostics = self.create_publisher(DiagnosticArray, "/diagnostics", QOS_STATE)
        self._diagnostics_timer = self.create_timer(
            max(0.05, self.get_parameter("diagnostics_period_s").value), self._publish_report)

    def _param(self, name):
        return self.get_parameter(name).value

    # --- lifecycle ----------------------------------------------------------------------------
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            config = load_embodiment(self._param("embodiment"))
            safety = load_safety_config()
            driver = make_hand_driver(config, port=self._param("port"),
                                      latency_timer_ms=self._param("latency_timer_ms") or None,
                                      robot_ip=self._param("robot_ip"))
            driver.connect()
        except Exception as error:  # a config or connection error: stay unconfigured
            self.get_logger().error(f"configure failed: {error}")
            return FAILURE
        self.config, self.driver = config, driver
        stale = self._param("trajectory_stale_timeout_s")
        self.controller = HandController(config, safety.hand.command_timeout_s, stale or None)
        self._joint_states = self.create_lifecycle_publisher(JointState, "/lad/hand/joint_states",
                                                             QOS_STATE)
        reboot_group = MutuallyExclusiveCallbackGroup()
        self._entities = [
            self.create_subscription(JointTrajectory, "/lad/hand/trajectory",
                                     self._on_trajectory, QOS_COMMANDS),
            self.create_subscription(JointState, "/lad/hand/command", self._on_command,
                                     QOS_COMMANDS),
            self.create_service(Trigger, "~/reboot", self._on_reboot,
                                callback_group=reboot_group),
        ]
        self.get_logger().info(f"configured {config.name} ({config.driver.kind})")
        return SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            with self._driver_ops:
                self.driver.enable()
        except Exception as error:
            self.get_logger().error(f"activate failed: {error}")
            return FAILURE
        self._resync = True
        self._active = True
        self._control_timer = self.create_timer(1.0 / self._param("control_rate_hz"),
                                                self._control_step)
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_control()
        try:
            with self._driver_ops:
                self.driver.disable()
        except Exception as error:  # torque state unknown: error processing closes the driver
            self.get_logger().error(f"deactivate: torque off failed: {error}")
            return TransitionCallbackReturn.ERROR
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        return SUCCESS

    def _stop_control(self) -> None:
        self._active = False
        if self._control_timer is not None:
            self.destroy_timer(self._control_timer)
            self._control_timer = None

    def _release(self) -> None:
        self._stop_control()
        if self.driver is not None:
            self.driver.close()
            self.driver = None
        for entity in self._entities:
            if hasattr(entity, "srv_type"):
                self.destroy_service(entity)
            else:
                self.destroy_subscription(entity)
        self._entities = []
        if getattr(self, "_joint_states", None) is not None:
            self.destroy_lifecycle_publisher(self._joint_states)
            self._joint_states = None

    # --- inputs -------------------------------------------------------------------------------
    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _on_trajectory(self, msg: JointTrajectory) -> None:
        if not self._active:
            return
        now = self._now_ns()
        self.controller.note_input_stamp(ns_from_stamp(msg.header.stamp), now)
        times = trajectory_times_ns(ns_from_stamp(msg.header.stamp),
                                    [ns_from_stamp(p.time_from_start) for p in msg.points], now)
        points = [list(p.positions) for p in msg.points]
        if any(len(p) != len(msg.joint_names) for p in points):
            points = [[]]  # rejected by the controller with a clear reason
        accepted, reason = self.controller.set_trajectory(msg.joint_names, times, points, now)
        if not accepted:
            self.get_logger().warning(f"trajectory rejected: {reason}",
                                      throttle_duration_sec=2.0)

    def _on_command(self, msg: JointState) -> None:
        if not self._active:
            return
        now = self._now_ns()
        self.controller.note_input_stamp(ns_from_stamp(msg.header.stamp), now)
        accepted, reason = self.controller.set_command(msg.name, msg.position, now)
        if not accepted:
            self.get_logger().warning(f"command rejected: {reason}", throttle_duration_sec=2.0)

    def _on_reboot(self, request, response):
        try:
            with self._driver_ops:
                self.driver.reboot()
                if self._active:
                    self.driver.enable()
                    self._resync = True
        except Exception as error:
            response.success, response.message = False, f"reboot failed: {error}"
            return response
        response.success = True
        response.message = "rebooted" + (", holding the measured position" if self._active
                                         else "; torque stays off until activate")
        return response

    # --- control loop -----------------------------------------------------------------------------
    def _control_step(self) -> None:
        if not self.context.ok():  # shutting down: the publishers are gone
            return
        state = self.driver.latest_state()
        health = self.driver.health()
        if self._resync and state is not None and health.torque_enabled:
            self.controller.reset(state.position)
            self._resync = False
        if health.faults or not health.torque_enabled:
            self._source = "torque off"
        elif not self._resync:
            step = self.controller.step(self._now_ns())
            self.driver.command(step.command)
            self._source = step.source
        if state is not None and state.stamp_ns != self._last_published_ns:
            self._last_published_ns = state.stamp_ns
            self._joint_states.publish(joint_state(
                self.config.joint_names, state.position, state.stamp_ns,
                [] if state.velocity is None else state.velocity,
                [] if state.effort is None else state.effort))

    def _publish_report(self) -> None:
        if not self.context.ok():
            return
        if self.driver is None:
            status = diagnostic_status(f"{self.get_name()}: hand", "", "STALE", "unconfigured")
        else:
            health = self.driver.health()
            report = hand_report(health, self._active, self._report_counters,
                                 self.controller.counters, self._source)
            self._report_counters = dict(health.counters)
            settings = getattr(self.driver, "settings", None)  # the Dynamixel port, if any
            hardware_id = (getattr(settings, "port", None)
                           or getattr(self.driver, "robot_ip", None) or self.config.name)
            status = diagnostic_status(f"{self.get_name()}: {self.config.name}", hardware_id,
                                       report.level, report.message, report.values)
        self._diagnostics.publish(DiagnosticArray(header=header(self._now_ns()), status=[status]))


def main(args=None) -> None:
    rclpy.init(args=args)
    node = HandNode()
    if node.get_parameter("autostart").value:
        if node.trigger_configure() != SUCCESS or node.trigger_activate() != SUCCESS:
            node.get_logger().error("autostart: configure/activate failed; staying inactive")
    executor = MultiThreadedExecutor(num_threads=2)  # a reboot wait never stalls control
    executor.add_node(node)
    try:
        spin_until_shutdown(node, executor)
    finally:
        if node.driver is not None:
            node.driver.close()
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
