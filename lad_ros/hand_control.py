"""What the hand node commands, and how it reports: pure logic, no ROS, times in nanoseconds.

Two inputs, the newest one wins:
- a timed trajectory (policy chunk or a user's JointTrajectory): followed by the shared
  TrajectoryFollower (interpolate at now, never extrapolate, hold when it runs out);
- a teleop joint command stream: followed while fresh, held when the watchdog expires.
Joint names may come in any order and may cover only some joints (the others keep their last
safe command); an unknown name rejects the whole message. Every output passes through
lad_ros.safety.safe_joint_command (limits, velocity cap, NaN/inf -> hold).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lad_ros.drivers.hand_driver import DriverHealth
from lad_ros.safety import JointLimits, Verdict, Watchdog, safe_joint_command
from lad_ros.timed_trajectory import TimedPoints, TrajectoryFollower

_NS = 1e9


@dataclass
class InputCounters:
    trajectories: int = 0
    commands: int = 0
    rejected: int = 0
    last_rejection: str = ""
    # receive time - header stamp of the newest input: how old the observation behind a
    # command is when it reaches the hand (part of the latency budget)
    input_age_ms: float | None = None


@dataclass(frozen=True)
class Step:
    command: np.ndarray
    source: str        # trajectory follow state, "teleop", "teleop stale" or "hold"
    verdict: Verdict


class HandController:
    def __init__(self, config, command_timeout_s: float,
                 trajectory_stale_timeout_s: float | None = None):
        self.joint_names = list(config.joint_names)
        self._index = {name: i for i, name in enumerate(self.joint_names)}
        self.limits = JointLimits.from_embodiment(config)
        stale_ns = int(trajectory_stale_timeout_s * _NS) if trajectory_stale_timeout_s else None
        self.follower = TrajectoryFollower(stale_after_ns=stale_ns)
        self.watchdog = Watchdog(command_timeout_s)
        self.counters = InputCounters()
        self._teleop: np.ndarray | None = None
        self._previous = np.asarray(config.neutral, dtype=float)
        self._last_step_ns: int | None = None

    @property
    def last_command(self) -> np.ndarray:
        return self._previous.copy()

    def reset(self, measured: np.ndarray) -> None:
        """Forget all input and hold the measured position (clamped into the limits)."""
        self.follower.clear()
        self._teleop = None
        self._previous = self.limits.clamp(np.asarray(measured, dtype=float))
        self._last_step_ns = None

    def note_input_stamp(self, stamp_ns: int, received_ns: int) -> None:
        if stamp_ns > 0:
            self.counters.input_age_ms = (received_ns - stamp_ns) / 1e6

    def _reject(self, reason: str) -> tuple[bool, str]:
        self.counters.rejected += 1
        self.counters.last_rejection = reason
        return False, reason

    def _columns(self, names) -> list[int] | str:
        """Column index of each named joint, or the reason the names are unusable."""
        names = list(names)
        unknown = [n for n in names if n not in self._index]
        if unknown:
            return f"unknown joint names {unknown} (expected names from {self.joint_names})"
        if len(set(names)) != len(names):
            return "duplicate joint names"
        return [self._index[n] for n in names]

    def set_trajectory(self, names, times_ns, points, received_ns: int) -> tuple[bool, str]:
        """points: one row per time, one column per name in `names`."""
        columns = self._columns(names)
        if isinstance(columns, str):
            return self._reject(columns)
        rows = np.asarray(points, dtype=float)
        if rows.ndim != 2 or rows.shape[1] != len(columns) or rows.shape[0] == 0:
            return self._reject(f"expected one position per joint name ({len(columns)}) "
                                f"in every point")
        full = np.tile(self._previous, (rows.shape[0], 1))
        full[:, columns] = rows
        try:
            chunk = TimedPoints(np.asarray(times_ns, dtype=np.int64), full)
        except ValueError as error:
            return self._reject(str(error))
        if not self.follower.set(chunk, received_ns):
            return self._reject("all points lie in the past")
        self._teleop = None
        self.counters.trajectories += 1
        return True, ""

    def set_command(self, names, positions, received_ns: int) -> tuple[bool, str]:
        """A teleop target; empty `names` means all joints in the embodiment's order."""
        names = list(names) or self.joint_names
        columns = self._columns(names)
        if isinstance(columns, str):
            return self._reject(columns)
        values = np.asarray(positions, dtype=float).reshape(-1)
        if values.shape != (len(columns),):
            return self._reject(f"expected {len(columns)} positions, got {values.size}")
        if not np.all(np.isfinite(values)):
            return self._reject("non-finite position")
        target = self._teleop.copy() if self._teleop is not None else self._previous.copy()
        target[columns] = values
        self._teleop = target
        self.follower.clear()
        self.watchdog.feed(received_ns / _NS)
        self.counters.commands += 1
        return True, ""

    def step(self, now_ns: int) -> Step:
        """The safe command for now; call at the control rate."""
        target, source = None, "hold"
        if self._teleop is not None:
            if self.watchdog.expired(now_ns / _NS):
                source = "teleop stale"
            else:
                target, source = self._teleop, "teleop"
        else:
            point, state = self.follower.target(now_ns)
            target, source = point, state.value
        if target is None:
            target = self._previous
        dt = 0.0 if self._last_step_ns is None else (now_ns - self._last_step_ns) / _NS
        command, verdict = safe_joint_command(target, self._previous, self.limits, dt)
        self._previous, self._last_step_ns = command, now_ns
        return Step(command, source, verdict)


def trajectory_times_ns(stamp_ns: int, from_start_ns, received_ns: int) -> np.ndarray:
    """Absolute point times: header stamp + time_from_start; a zero stamp means "now"."""
    base = stamp_ns if stamp_ns > 0 else received_ns
    return base + np.asarray(from_start_ns, dtype=np.int64)


LOSS_COUNTERS = ("timeouts", "crc_errors", "incomplete_reads")


@dataclass
class HandReport:
    level: str       # OK, WARN, ERROR
    message: str
    values: dict = field(default_factory=dict)


def hand_report(health: DriverHealth, active: bool, previous_counters: dict | None,
                inputs: InputCounters, source: str) -> HandReport:
    """Diagnostics for one period: faults are an ERROR; packet losses in the period a WARN
    (they were retried; `incomplete_reads` counts bus cycles that still missed a motor)."""
    counters = dict(health.counters)
    values = {**counters, "connected": health.connected, "torque_enabled": health.torque_enabled,
              "active": active, "following": source, "trajectories": inputs.trajectories,
              "commands": inputs.commands, "rejected_messages": inputs.rejected,
              "last_rejection": inputs.last_rejection,
              "input_age_ms": "n/a" if inputs.input_age_ms is None
              else f"{inputs.input_age_ms:.1f}"}
    previous = previous_counters or {}
    losses = {k: counters.get(k, 0) - previous.get(k, 0) for k in LOSS_COUNTERS}
    values.update({f"{k}_in_period": v for k, v in losses.items()})
    if health.faults:
        values["faults"] = "; ".join(health.faults)
        return HandReport("ERROR", "torque off: " + "; ".join(health.faults)
                          + " (call ~/reboot)", values)
    if not health.connected:
        return HandReport("ERROR", "not connected", values)
    if active and not health.torque_enabled:
        return HandReport("ERROR", "active but torque is off", values)
    if any(losses.values()):
        return HandReport("WARN", "bus packet losses: " + ", ".join(
            f"{v} {k.replace('_', ' ')}" for k, v in losses.items() if v), values)
    return HandReport("OK", ("tracking: " if active else "inactive: ") + source, values)
