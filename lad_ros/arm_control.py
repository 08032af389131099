"""What the arm should be commanded at a given time: pure logic, no franky, no ROS.

Two command sources: a timed trajectory of target poses (policy chunks, user Paths) and a
single teleop target. Each control tick, `ArmCommander.step(now)` samples the trajectory at
now (the follower drops the past, interpolates, never extrapolates), falls back to a fresh
teleop target, and otherwise holds. Every pose it returns has passed `safe_pose_command`,
stepping from the last pose actually sent (or the measured pose after a (re)start), so a
NaN, a degenerate quaternion or an out-of-workspace target can never come out of here.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from lad_ros.safety import (ArmSafetyConfig, EStopLatch, Verdict, Watchdog, normalized_quaternion,
                            quaternion_angle, safe_pose_command)
from lad_ros.timed_trajectory import FollowState, TimedPoints, TrajectoryFollower

_NS = 1_000_000_000


@dataclass(frozen=True)
class Pose:
    """End-effector pose in the arm base frame: xyz in metres, unit quaternion xyzw."""
    xyz: np.ndarray
    quat: np.ndarray

    @classmethod
    def of(cls, xyz, quat_xyzw) -> "Pose":
        return cls(np.asarray(xyz, dtype=float).reshape(3).copy(),
                   np.asarray(quat_xyzw, dtype=float).reshape(4).copy())

    def distance_to(self, other: "Pose") -> tuple[float, float]:
        """(translation in m, rotation in rad) between two poses."""
        return (float(np.linalg.norm(self.xyz - other.xyz)),
                quaternion_angle(self.quat / np.linalg.norm(self.quat),
                                 other.quat / np.linalg.norm(other.quat)))


def timed_pose_points(times_ns, xyz, quat_xyzw) -> TimedPoints:
    """A timed trajectory of poses as TimedPoints [x y z qx qy qz qw] (quaternion slerped).

    Quaternions are normalized and put in one hemisphere so interpolation takes the short way.
    Raises ValueError for non-finite values, degenerate quaternions or non-increasing times.
    """
    xyz = np.asarray(xyz, dtype=float).reshape(-1, 3)
    quats = np.asarray(quat_xyzw, dtype=float).reshape(-1, 4)
    if xyz.shape[0] != quats.shape[0]:
        raise ValueError(f"timed poses: {xyz.shape[0]} positions but {quats.shape[0]} rotations")
    unit = []
    for i, q in enumerate(quats):
        normalized = normalized_quaternion(q)
        if normalized is None:
            raise ValueError(f"timed poses: pose {i} has a non-finite or zero quaternion")
        if unit and float(np.dot(unit[-1], normalized)) < 0.0:
            normalized = -normalized
        unit.append(normalized)
    return TimedPoints(np.asarray(times_ns, dtype=np.int64),
                       np.hstack([xyz, np.asarray(unit).reshape(-1, 4)]), quaternion_at=3)


class Source(str, Enum):
    TRAJECTORY = "trajectory"
    TELEOP = "teleop"
    HOLD = "hold"


@dataclass(frozen=True)
class ArmCommand:
    """The outcome of one control tick. `pose` is None when nothing new must be sent."""
    pose: Pose | None
    source: Source
    follow_state: FollowState
    verdict: Verdict | None = None
    reason: str = ""


@dataclass
class CommandCounters:
    sent: int = 0
    rejected: int = 0       # held because the target was not finite / degenerate
    clamped: int = 0        # moved into the workspace box
    capped: int = 0         # shortened to the per-command step limits
    deadband: int = 0       # too close to the last sent target to be worth a new motion
    trajectories: int = 0
    trajectories_refused: int = 0
    teleop_targets: int = 0
    motion_restarts: int = 0    # a sent motion was found not running: the target is resent

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if isinstance(v, int)}


class ArmCommander:
    """Chooses the safe target pose to send each control tick; see the module docstring."""

    def __init__(self, safety: ArmSafetyConfig, trajectory_stale_after_s: float,
                 deadband_m: float = 0.0, deadband_rad: float = 0.0):
        self.safety = safety
        # 0 disables the watchdog: each trajectory is followed to its end (scripted Paths).
        self.follower = TrajectoryFollower(int(trajectory_stale_after_s * _NS)
                                           if trajectory_stale_after_s > 0 else None)
        self.teleop_watchdog = Watchdog(safety.target_timeout_s)
        self.estop = EStopLatch()
        self.deadband_m, self.deadband_rad = deadband_m, deadband_rad
        self.counters = CommandCounters()
        self._teleop: tuple[np.ndarray, np.ndarray] | None = None
        self._reference: Pose | None = None
        self._last_sent: Pose | None = None

    @property
    def reference(self) -> Pose | None:
        return self._reference

    def set_trajectory(self, points: TimedPoints, now_ns: int) -> bool:
        if self.estop.engaged or not self.follower.set(points, now_ns):
            self.counters.trajectories_refused += 1
            return False
        self.counters.trajectories += 1
        return True

    def set_teleop_target(self, xyz, quat_xyzw, now_ns: int) -> None:
        """Raw target (safety is applied at send time); the watchdog holds when it stops."""
        if self.estop.engaged:
            return
        self._teleop = (np.array(xyz, dtype=float, copy=True),
                        np.array(quat_xyzw, dtype=float, copy=True))
        self.teleop_watchdog.feed(now_ns / _NS)
        self.counters.teleop_targets += 1

    def clear(self) -> None:
        """Forget every pending command (after an error, an e-stop, a tool change)."""
        self.follower.clear()
        self._teleop = None

    def restart_from(self, measured: Pose) -> None:
        """Step from the measured pose from now on (start, recovery, e-stop reset)."""
        self.clear()
        self._reference = Pose.of(measured.xyz, measured.quat)
        self._last_sent = None

    def engage_estop(self, reason: str) -> None:
        self.estop.trigger(reason)
        self.clear()

    def _requested(self, now_ns: int) -> tuple[Source, FollowState, np.ndarray | None,
                                                 np.ndarray | None]:
        point, state = self.follower.target(now_ns)
        if point is not None:
            return Source.TRAJECTORY, state, point[:3], point[3:7]
        if self._teleop is not None and not self.teleop_watchdog.expired(now_ns / _NS):
            return Source.TELEOP, state, self._teleop[0], self._teleop[1]
        return Source.HOLD, state, None, None

    def step(self, now_ns: int) -> ArmCommand:
        if self.estop.engaged:
            return ArmCommand(None, Source.HOLD, FollowState.IDLE, reason="e-stop engaged")
        if self._reference is None:
            return ArmCommand(None, Source.HOLD, FollowState.IDLE, reason="no reference pose")
        source, state, xyz, quat = self._requested(now_ns)
        if source is Source.HOLD:
            return ArmCommand(None, source, state, reason="holding the last safe target")
        safe_xyz, safe_quat, verdict = safe_pose_command(
            xyz, quat, self._reference.xyz, self._reference.quat,
            self.safety.workspace, self.safety.steps)
        if not verdict.accepted:
            self.counters.rejected += 1
            return ArmCommand(None, source, state, verdict, verdict.reason)
        self.counters.clamped += verdict.clamped
        self.counters.capped += verdict.capped
        pose = Pose.of(safe_xyz, safe_quat)
        if self._last_sent is not None:
            moved_m, moved_rad = pose.distance_to(self._last_sent)
            if moved_m <= self.deadband_m and moved_rad <= self.deadband_rad:
                self.counters.deadband += 1
                return ArmCommand(None, source, state, verdict, "within the retarget deadband")
        return ArmCommand(pose, source, state, verdict)

    def motion_not_running(self) -> None:
        """The robot holds no motion (it ended or never started): the next target is sent even
        if it lies within the deadband of the last one."""
        if self._last_sent is not None:
            self._last_sent = None
            self.counters.motion_restarts += 1

    def mark_sent(self, pose: Pose) -> None:
        """The pose reached the robot: the next command steps from it."""
        self._reference = self._last_sent = pose
        self.counters.sent += 1
