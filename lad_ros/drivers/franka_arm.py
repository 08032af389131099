"""Franka arm driver on franky: state at a fixed rate, safe preemptible Cartesian targets.

One worker thread owns the `franky.Robot`. Each tick (state_rate_hz) it serves requests
(recover, tool change, e-stop), reads the robot state and stamps it with the capture time; every
control period it asks the ArmCommander (lad_ros.arm_control) for the next safe target and, if
there is one, preempts the running motion with a new asynchronous CartesianMotion that keeps
holding its target (return_when_finished=False). franky replans from the current velocity and
acceleration, so retargeting stays continuous; the dynamics factors bound how hard it does so.

Errors (franky exceptions, reflexes, a robot state that stops advancing = lost connection) are
latched: the commander is cleared and nothing is sent until `request_recover()` succeeds, which
calls `recover_from_errors()` and, if the connection was lost, connects again.

Callers never block: every public method only takes a short lock. No rclpy here.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.spatial.transform import Rotation

from lad_ros.arm_control import ArmCommand, ArmCommander, Pose, Source
from lad_ros.config import ToolSpec
from lad_ros.drivers.franka_config import ArmConfig
from lad_ros.safety import ArmSafetyConfig
from lad_ros.timed_trajectory import FollowState, TimedPoints


@dataclass(frozen=True)
class ArmState:
    """Measured arm state; stamp_ns is the (caller's clock) time it was read."""
    stamp_ns: int
    positions: np.ndarray
    velocities: np.ndarray
    efforts: np.ndarray
    ee: Pose
    robot_time_s: float


@dataclass(frozen=True)
class ArmStatus:
    connected: bool
    error: str                     # "" when healthy
    estop: str                     # "" when not engaged
    source: str                    # trajectory / teleop / hold
    follow_state: str
    tool: str
    last_recover: str
    homing: bool = False
    last_home: str = ""
    counters: dict = field(default_factory=dict)


def pose_matrix(xyz, quat_xyzw) -> np.ndarray:
    matrix = np.eye(4)
    matrix[:3, :3] = Rotation.from_quat(np.asarray(quat_xyzw, dtype=float)).as_matrix()
    matrix[:3, 3] = xyz
    return matrix


def nominal_ee_to_tcp(flange_to_nominal: np.ndarray, tool: ToolSpec) -> list[float]:
    """franky set_ee wants NE_T_EE (column-major 16): the tool's flange->TCP transform expressed
    after the nominal end effector configured in Desk (F_T_NE, read from the robot state)."""
    flange_to_tcp = pose_matrix(tool.flange_to_tcp_xyz_m, tool.flange_to_tcp_quat_xyzw)
    return list(np.linalg.solve(flange_to_nominal, flange_to_tcp).reshape(-1, order="F"))


STOP_PLANNER_FAILURE = "Motion planner failed"  # franky's text when ruckig cannot plan
_CONNECTION_ERRORS = ("NetworkException", "Net Exception", "robot state stopped", "connect")


class FrankaArm:
    def __init__(self, config: ArmConfig, safety: ArmSafetyConfig, *,
                 robot_ip: str | None = None, realtime: str | None = None,
                 clock_ns: Callable[[], int] = time.time_ns):
        self.config = config
        self.robot_ip = robot_ip or config.robot_ip
        self.realtime = realtime or config.realtime
        self.clock_ns = clock_ns
        self.commander = ArmCommander(safety, config.trajectory_stale_timeout_s,
                                      config.retarget_deadband_m, config.retarget_deadband_rad)
        self._lock = threading.Lock()          # guards commander, requests and published state
        self._robot = None
        self._error = ""
        self._last_recover = ""
        self._state: ArmState | None = None
        self._last_command = ArmCommand(None, Source.HOLD, FollowState.IDLE)
        self._recover_requested = False
        self._home_requested = False
        self._homing_since: float | None = None   # monotonic start of a running home motion
        self._last_home = ""
        self._home_attempts, self._home_took_control = 0, False
        self._stop_motion_pending = False
        self._tool_request: tuple[str, ToolSpec] | None = None
        self._wanted_tool: tuple[str, ToolSpec] | None = None   # re-applied after a reconnect
        self._tool = ""                                          # applied on the robot
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._robot_time_s = -1.0
        self._robot_time_changed_ns = 0
        self.loop_overruns = 0
        self.stop_failures = 0
        self._stopping = False  # the last motion sent was a stop

    # ---- public API: thread-safe, returns at once ------------------------------------------
    def start(self, tool: tuple[str, ToolSpec] | None = None) -> None:
        """Start the worker; it connects (failure -> latched error, see request_recover)."""
        if self._thread is not None:
            return
        self._tool_request = tool
        self._recover_requested = True   # the first "recovery" is the initial connect
        self._error = "not connected yet"
        self._thread = threading.Thread(target=self._run, name="franka_arm", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        robot, self._robot = self._robot, None
        if robot is not None:
            try:
                robot.stop()
            except Exception:  # noqa: BLE001 - shutting down; nothing more to do
                pass

    def set_trajectory(self, points: TimedPoints) -> bool:
        with self._lock:
            if self._error:
                return False
            return self.commander.set_trajectory(points, self.clock_ns())

    def set_target(self, xyz, quat_xyzw) -> None:
        with self._lock:
            if not self._error:
                self.commander.set_teleop_target(xyz, quat_xyzw, self.clock_ns())

    def engage_estop(self, reason: str = "e-stop") -> None:
        with self._lock:
            self.commander.engage_estop(reason)
            self._stop_motion_pending = True

    def reset_estop(self) -> None:
        with self._lock:
            self.commander.estop.reset()
            if self._state is not None:
                self.commander.restart_from(self._state.ee)

    def request_recover(self) -> None:
        with self._lock:
            self._recover_requested = True

    def request_home(self) -> None:
        """Move to config.home_joint_positions (a joint motion); pending commands are dropped
        and new ones are ignored until it ends."""
        with self._lock:
            self._home_requested = True
            self.commander.clear()

    def request_tool(self, name: str, tool: ToolSpec) -> None:
        """Apply a tool (set_ee / set_load) at the next tick; pending commands are dropped."""
        with self._lock:
            self._tool_request = (name, tool)
            self.commander.clear()

    def latest_state(self) -> ArmState | None:
        return self._state

    def status(self) -> ArmStatus:
        with self._lock:
            command = self._last_command
            return ArmStatus(connected=self._robot is not None, error=self._error,
                             estop=self.commander.estop.reason, source=command.source.value,
                             follow_state=command.follow_state.value, tool=self._tool,
                             last_recover=self._last_recover,
                             homing=self._homing_since is not None,
                             last_home=self._last_home,
                             counters={**self.commander.counters.as_dict(),
                                       "loop_overruns": self.loop_overruns,
                                       "stop_failures": self.stop_failures})

    # ---- franky calls: overridable, e.g. to record what reaches the robot ------------------
    def _connect(self):
        import franky
        realtime = (franky.RealtimeConfig.Enforce if self.realtime == "enforce"
                    else franky.RealtimeConfig.Ignore)
        robot = franky.Robot(self.robot_ip, realtime_config=realtime)
        dynamics = self.config.dynamics
        robot.relative_dynamics_factor = franky.RelativeDynamicsFactor(
            dynamics.velocity, dynamics.acceleration, dynamics.jerk)
        return robot

    def _send_pose(self, robot, pose: Pose) -> None:
        import franky
        motion = franky.CartesianMotion(franky.Affine(pose.xyz, pose.quat),
                                        franky.ReferenceType.Absolute,
                                        return_when_finished=False)
        robot.move(motion, asynchronous=True, cutoff_frequency=self.config.cutoff_frequency_hz)
        self._stopping = False

    def _stop_motion(self, robot) -> None:
        """Preempt whatever runs with a smooth stop of the same control type."""
        import franky
        if robot.is_in_control:
            homing = self._homing_since is not None
            robot.move(franky.JointStopMotion() if homing else franky.CartesianStopMotion(),
                       asynchronous=True)
            self._stopping = True
        if self._homing_since is not None:
            self._homing_since, self._last_home = None, "interrupted"

    def _stop_and_wait(self, robot) -> None:
        """Bring the running motion to a smooth stop and wait for it (worker thread only):
        needed before set_ee/set_load and before a joint motion."""
        self._stop_motion(robot)
        try:
            robot.join_motion(timeout=5.0)
        except Exception:  # noqa: BLE001
            # The stop's planner can fail on a nearly still arm (ruckig -111 seen with
            # franky-sim). The motion has ended either way, which is all we need here.
            self.stop_failures += 1
            robot.recover_from_errors()

    # ---- worker thread ----------------------------------------------------------------------
    def _run(self) -> None:
        period_ns = int(1e9 / self.config.state_rate_hz)
        control_every = max(1, round(self.config.state_rate_hz / self.config.control_rate_hz))
        tick, next_ns = 0, time.monotonic_ns()
        while not self._stop.is_set():
            self._serve_requests()
            if self._robot is not None and not self._error:
                try:
                    self._read_state()
                    if tick % control_every == 0:
                        self._robot.poll_motion()   # raises what the motion thread hit
                        if self._homing_since is not None:
                            self._check_home()
                        else:
                            self._control()
                except Exception as error:  # noqa: BLE001 - any franky failure latches
                    self._stop_failed_or_latch(error)
            tick += 1
            next_ns += period_ns
            delay = next_ns - time.monotonic_ns()
            if delay < 0:
                self.loop_overruns += 1
                next_ns = time.monotonic_ns()   # don't burst to catch up
            else:
                self._stop.wait(delay / 1e9)

    def _stop_failed_or_latch(self, error: BaseException) -> None:
        """A smooth stop whose planner failed has still ended the motion, which is all the
        stop asked for (ruckig fails on a nearly still arm, seen with franky-sim): count it and
        recover. Any other failure latches."""
        if not (self._stopping and STOP_PLANNER_FAILURE in str(error)):
            self._latch(error)
            return
        self._stopping = False
        self.stop_failures += 1
        try:
            self._robot.recover_from_errors()
        except Exception as recover_error:  # noqa: BLE001
            self._latch(recover_error)

    def _latch(self, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        if self._homing_since is not None:
            self._homing_since, self._last_home = None, "interrupted by an error"
        with self._lock:
            self._error = text or "unknown error"
            self.commander.clear()
            self._last_command = ArmCommand(None, Source.HOLD, self._last_command.follow_state,
                                            reason=text)

    def _read_state(self) -> None:
        state = self._robot.state
        now_ns = self.clock_ns()
        robot_time = state.time.to_sec()
        if robot_time != self._robot_time_s:
            self._robot_time_s, self._robot_time_changed_ns = robot_time, time.monotonic_ns()
        elif time.monotonic_ns() - self._robot_time_changed_ns > self.config.state_timeout_s * 1e9:
            raise ConnectionError(f"robot state stopped advancing for more than "
                                  f"{self.config.state_timeout_s} s (connection lost?)")
        ee = state.O_T_EE
        self._state = ArmState(now_ns, np.asarray(state.q, dtype=float),
                               np.asarray(state.dq, dtype=float),
                               np.asarray(state.tau_J, dtype=float),
                               Pose.of(ee.translation, ee.quaternion), robot_time)

    def _control(self) -> None:
        in_control = self._robot.is_in_control
        with self._lock:
            if not in_control:
                self.commander.motion_not_running()
            command = self.commander.step(self.clock_ns())
            self._last_command = command
        if command.pose is not None:
            self._send_pose(self._robot, command.pose)
            with self._lock:
                self.commander.mark_sent(command.pose)

    def _serve_requests(self) -> None:
        with self._lock:
            recover, self._recover_requested = self._recover_requested, False
            tool, self._tool_request = self._tool_request, None
            home, self._home_requested = self._home_requested, False
            stop, self._stop_motion_pending = self._stop_motion_pending, False
        if stop and self._robot is not None and not self._error:
            try:
                self._stop_motion(self._robot)
            except Exception as error:  # noqa: BLE001
                self._latch(error)
        if recover:
            self._recover()
        if home:
            self._start_home()
        if tool is not None:
            self._apply_tool(*tool)

    def _recover(self) -> None:
        reconnect = self._robot is None or any(k in self._error for k in _CONNECTION_ERRORS)
        try:
            if reconnect:
                self._robot = None
                self._robot = self._connect()
            self._robot.recover_from_errors()
            self._robot_time_s = -1.0
            with self._lock:
                self._error = ""
            self._read_state()
            with self._lock:
                self.commander.restart_from(self._state.ee)
            if self._wanted_tool is not None:
                self._apply_tool(*self._wanted_tool)
            self._last_recover = "reconnected" if reconnect else "recovered"
        except Exception as error:  # noqa: BLE001 - stays latched, reported in status()
            self._last_recover = f"failed: {type(error).__name__}: {error}"
            self._latch(f"{'connect' if reconnect else 'recover'} failed: "
                        f"{type(error).__name__}: {error}")

    def _apply_tool(self, name: str, tool: ToolSpec) -> None:
        """set_ee / set_load need the robot idle: stop the motion, wait, apply, restart."""
        self._wanted_tool = (name, tool)
        robot = self._robot
        if robot is None or self._error:
            return   # applied on the next successful (re)connect
        try:
            self._stop_and_wait(robot)
            flange_to_nominal = np.asarray(robot.state.F_T_NE.matrix)
            robot.set_ee(nominal_ee_to_tcp(flange_to_nominal, tool))
            robot.set_load(tool.mass_kg, list(tool.center_of_mass_m), list(tool.inertia_kgm2))
            self._read_state()
            with self._lock:
                self.commander.restart_from(self._state.ee)
            self._tool = name
        except Exception as error:  # noqa: BLE001
            self._latch(f"tool change to '{name}' failed: {type(error).__name__}: {error}")

    def _start_home(self) -> None:
        if self._robot is None or self._error or self.commander.estop.engaged:
            self._last_home = "refused: not connected, in error or e-stopped"
            return
        try:
            self._stop_and_wait(self._robot)
            self._send_home(self._robot)
            self._homing_since = time.monotonic()
            self._home_attempts, self._home_took_control = 1, False
            self._last_home = "moving"
        except Exception as error:  # noqa: BLE001
            self._latch(f"home failed: {type(error).__name__}: {error}")

    def _send_home(self, robot) -> None:
        import franky
        robot.move(franky.JointMotion(list(self.config.home_joint_positions)), asynchronous=True)

    def _check_home(self) -> None:
        if self._robot.is_in_control:
            self._home_took_control = True
            return
        elapsed = time.monotonic() - self._homing_since
        if elapsed < 0.2:    # the motion thread needs a moment to take control
            return
        if not self._home_took_control and self._home_attempts < 3:
            # A motion started right after another one ended sometimes never runs (seen with
            # franky-sim): send it again rather than report a home that never moved.
            self._home_attempts += 1
            self._homing_since = time.monotonic()
            self._send_home(self._robot)
            return
        # Judge the result once the joints have settled (the joints lag the command a little).
        settling = np.max(np.abs(self._state.velocities)) > 0.005
        if settling and elapsed < 60.0:
            return
        self._homing_since = None
        offset = np.max(np.abs(self._state.positions - self.config.home_joint_positions))
        self._last_home = "reached" if offset < 0.01 else f"stopped {offset:.3f} rad away"
        with self._lock:
            self.commander.restart_from(self._state.ee)
