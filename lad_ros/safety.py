"""Safety for every command path: pure functions and small state holders, no ROS, no I/O.

Every command that can reach a motor passes through here first:
- joint commands (hands, gripper): reject NaN/inf or a wrong shape (hold the last safe command),
  clamp to the joint limits, cap the per-command change by the joint velocity limit;
- end-effector poses (arm): reject NaN/inf and degenerate quaternions (hold), clamp the position
  to a workspace box, cap the per-command translation and rotation step;
- a watchdog (stale input -> hold) and an e-stop latch (refuse commands until reset).

Guarantee (property-tested): a joint output is always within the limits; a pose output is always
inside the box whenever the reference it steps from is inside the box, and never steps further
than the caps from it.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from lad_ros.config import Fields, read_yaml


@dataclass(frozen=True)
class Verdict:
    """What the safety layer did to one command."""
    accepted: bool          # False: rejected, the previous safe command is held
    clamped: bool = False   # limits or workspace box changed the command
    capped: bool = False    # the velocity / step cap changed the command
    reason: str = ""


HOLD_NOT_FINITE = "non-finite value (NaN/inf)"


@dataclass(frozen=True)
class JointLimits:
    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    max_velocity: np.ndarray  # per joint, units/s

    @classmethod
    def from_embodiment(cls, config) -> "JointLimits":
        n = len(config.joints)
        return cls(tuple(config.joint_names), np.asarray(config.lower, dtype=float),
                   np.asarray(config.upper, dtype=float),
                   np.full(n, float(config.max_joint_velocity)))

    def clamp(self, positions: np.ndarray) -> np.ndarray:
        return np.clip(positions, self.lower, self.upper)


def _as_vector(values, size: int) -> np.ndarray | None:
    try:
        array = np.asarray(values, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return None
    return array if array.shape == (size,) else None


def safe_joint_command(target: Sequence[float], previous: Sequence[float], limits: JointLimits,
                       dt: float) -> tuple[np.ndarray, Verdict]:
    """The command to send given a requested target and the last safe command sent `dt` ago.

    `previous` is clamped into the limits first, so even a hand that starts outside its
    calibrated range only ever receives in-limit commands.
    """
    size = len(limits.names)
    previous_vector = _as_vector(previous, size)
    if previous_vector is None or not np.all(np.isfinite(previous_vector)):
        raise ValueError(f"safe_joint_command: previous command must be {size} finite values")
    held = limits.clamp(previous_vector)
    requested = _as_vector(target, size)
    if requested is None:
        return held, Verdict(False, reason=f"expected {size} joint values")
    if not np.all(np.isfinite(requested)):
        return held, Verdict(False, reason=HOLD_NOT_FINITE)
    clamped = limits.clamp(requested)
    # A long gap between commands still moves at most one second's worth of motion.
    step_time = min(max(float(dt), 0.0), 1.0) if math.isfinite(dt) else 0.0
    max_step = limits.max_velocity * step_time
    stepped = np.clip(clamped, held - max_step, held + max_step)
    output = limits.clamp(stepped)
    return output, Verdict(True, clamped=not np.array_equal(clamped, requested),
                           capped=not np.array_equal(stepped, clamped))


@dataclass(frozen=True)
class WorkspaceBox:
    lower: np.ndarray  # xyz, metres, arm base frame
    upper: np.ndarray

    def contains(self, xyz: np.ndarray, tolerance: float = 1e-9) -> bool:
        return bool(np.all(xyz >= self.lower - tolerance) and np.all(xyz <= self.upper + tolerance))


@dataclass(frozen=True)
class PoseStepLimits:
    max_translation_m: float   # per command
    max_rotation_rad: float    # per command


def normalized_quaternion(quat_xyzw) -> np.ndarray | None:
    q = _as_vector(quat_xyzw, 4)
    if q is None or not np.all(np.isfinite(q)):
        return None
    largest = float(np.max(np.abs(q)))
    if largest < 1e-6:
        return None
    q = q / largest  # avoids overflow in the norm for huge components
    return q / np.linalg.norm(q)


def quaternion_angle(a: np.ndarray, b: np.ndarray) -> float:
    """Rotation angle between two unit quaternions, in [0, pi]."""
    return 2.0 * math.acos(min(1.0, abs(float(np.dot(a, b)))))


def slerp(a: np.ndarray, b: np.ndarray, fraction: float) -> np.ndarray:
    """Shortest-path spherical interpolation between unit quaternions (xyzw)."""
    dot = float(np.dot(a, b))
    if dot < 0.0:
        b, dot = -b, -dot
    if dot > 0.9995:
        q = a + fraction * (b - a)
        return q / np.linalg.norm(q)
    theta = math.acos(dot)
    q = (math.sin((1 - fraction) * theta) * a + math.sin(fraction * theta) * b) / math.sin(theta)
    return q / np.linalg.norm(q)


def safe_pose_command(target_xyz, target_quat_xyzw, reference_xyz, reference_quat_xyzw,
                      box: WorkspaceBox, steps: PoseStepLimits
                      ) -> tuple[np.ndarray, np.ndarray, Verdict]:
    """The pose to command, stepping from `reference` (the last safe command or measured pose)."""
    ref_xyz = np.asarray(reference_xyz, dtype=float).reshape(3)
    ref_quat = normalized_quaternion(reference_quat_xyzw)
    if ref_quat is None or not np.all(np.isfinite(ref_xyz)):
        raise ValueError("safe_pose_command: the reference pose itself is not finite")
    xyz = _as_vector(target_xyz, 3)
    quat = normalized_quaternion(target_quat_xyzw)
    if xyz is None or quat is None or not np.all(np.isfinite(xyz)):
        return ref_xyz, ref_quat, Verdict(False, reason=HOLD_NOT_FINITE + " or bad quaternion")
    in_box = np.clip(xyz, box.lower, box.upper)
    out_xyz, out_quat, capped = in_box, quat, False
    delta = in_box - ref_xyz
    distance = float(np.linalg.norm(delta))
    if distance > steps.max_translation_m:
        out_xyz, capped = ref_xyz + delta * (steps.max_translation_m / distance), True
    angle = quaternion_angle(ref_quat, quat)
    if angle > steps.max_rotation_rad:
        out_quat, capped = slerp(ref_quat, quat, steps.max_rotation_rad / angle), True
    return out_xyz, out_quat, Verdict(True, clamped=not np.array_equal(in_box, xyz),
                                      capped=capped)


class Watchdog:
    """Input is stale when nothing arrived for `timeout_s`; times are caller-supplied seconds."""

    def __init__(self, timeout_s: float):
        self.timeout_s = timeout_s
        self._last: float | None = None

    def feed(self, now_s: float) -> None:
        self._last = now_s

    def expired(self, now_s: float) -> bool:
        return self._last is None or now_s - self._last > self.timeout_s

    def age(self, now_s: float) -> float:
        return math.inf if self._last is None else now_s - self._last


class EStopLatch:
    """Once triggered, stays engaged (commands refused) until explicitly reset."""

    def __init__(self):
        self.reason = ""

    @property
    def engaged(self) -> bool:
        return bool(self.reason)

    def trigger(self, reason: str) -> None:
        if not self.engaged:
            self.reason = reason or "e-stop"

    def reset(self) -> None:
        self.reason = ""


@dataclass(frozen=True)
class ArmSafetyConfig:
    workspace: WorkspaceBox
    steps: PoseStepLimits
    target_timeout_s: float       # teleop target stream: stale after this -> hold


@dataclass(frozen=True)
class HandSafetyConfig:
    command_timeout_s: float


@dataclass(frozen=True)
class SafetyConfig:
    file: str
    arm: ArmSafetyConfig
    hand: HandSafetyConfig


def load_safety_config(path: str | os.PathLike | None = None) -> SafetyConfig:
    from lad_ros.embodiment import share_dir
    path = str(path or share_dir() / "config" / "safety.yaml")
    fields = Fields(path, read_yaml(path))
    fields.keys_known({"arm", "hand"})
    arm = fields.sub("arm")
    arm.keys_known({"workspace", "max_translation_step_m", "max_rotation_step_rad",
                    "target_timeout_s"})
    workspace = arm.sub("workspace")
    lower = np.array(workspace.vector("lower_m", 3))
    upper = np.array(workspace.vector("upper_m", 3))
    if np.any(lower >= upper):
        raise workspace.error("lower_m", f"each value below upper_m {upper.tolist()}",
                              lower.tolist())
    hand = fields.sub("hand")
    hand.keys_known({"command_timeout_s"})
    return SafetyConfig(
        file=path,
        arm=ArmSafetyConfig(
            workspace=WorkspaceBox(lower, upper),
            steps=PoseStepLimits(arm.number("max_translation_step_m", minimum=1e-4, maximum=0.2),
                                 arm.number("max_rotation_step_rad", minimum=1e-4, maximum=0.5)),
            target_timeout_s=arm.number("target_timeout_s", minimum=0.01)),
        hand=HandSafetyConfig(hand.number("command_timeout_s", minimum=0.01)))
