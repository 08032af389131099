"""The `arm:` and `gripper:` sections of config/cell.yaml, validated (other sections are ignored).

No franky import here: a config can be checked on a machine without the robot libraries.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from lad_ros.config import Fields, read_yaml

REALTIME_MODES = ("enforce", "ignore")


@dataclass(frozen=True)
class DynamicsFactors:
    """franky relative dynamics factors, each in (0, 1]."""
    velocity: float
    acceleration: float
    jerk: float


@dataclass(frozen=True)
class ArmConfig:
    file: str
    robot_ip: str
    realtime: str
    base_frame: str
    joint_names: tuple[str, ...]
    dynamics: DynamicsFactors
    cutoff_frequency_hz: float
    control_rate_hz: float
    state_rate_hz: float
    publish_rate_hz: float
    trajectory_stale_timeout_s: float
    state_timeout_s: float
    retarget_deadband_m: float
    retarget_deadband_rad: float
    home_joint_positions: tuple[float, ...]
    tool: str


@dataclass(frozen=True)
class GripperConfig:
    file: str
    robot_ip: str
    width_poll_hz: float
    command_deadband: float
    grasp_below: float


ARM_FIELDS = {"robot_ip", "realtime", "base_frame", "joint_names", "dynamics",
              "cutoff_frequency_hz", "control_rate_hz",
              "state_rate_hz", "publish_rate_hz", "trajectory_stale_timeout_s",
              "state_timeout_s", "retarget_deadband_m", "retarget_deadband_rad",
              "home_joint_positions", "tool"}
GRIPPER_FIELDS = {"robot_ip", "width_poll_hz", "command_deadband", "grasp_below"}


def default_cell_file() -> str:
    from lad_ros.embodiment import share_dir
    return str(share_dir() / "config" / "cell.yaml")


def _factor(fields: Fields, key: str) -> float:
    return fields.number(key, minimum=1e-3, maximum=1.0)


def _arm(fields: Fields) -> ArmConfig:
    arm = fields.sub("arm")
    arm.keys_known(ARM_FIELDS)
    dynamics = arm.sub("dynamics")
    dynamics.keys_known({"velocity", "acceleration", "jerk"})
    joint_names = arm.vector("joint_names", 7, str)
    if len(set(joint_names)) != 7:
        raise arm.error("joint_names", "7 distinct names", list(joint_names))
    state_rate = arm.number("state_rate_hz", minimum=10.0, maximum=1000.0)
    control_rate = arm.number("control_rate_hz", minimum=1.0, maximum=state_rate)
    return ArmConfig(
        file=fields.file,
        robot_ip=arm.req("robot_ip", str),
        realtime=arm.choice("realtime", REALTIME_MODES),
        base_frame=arm.req("base_frame", str),
        joint_names=joint_names,
        dynamics=DynamicsFactors(_factor(dynamics, "velocity"), _factor(dynamics, "acceleration"),
                                 _factor(dynamics, "jerk")),
        cutoff_frequency_hz=arm.number("cutoff_frequency_hz", minimum=1.0, maximum=1000.0),
        control_rate_hz=control_rate,
        state_rate_hz=state_rate,
        publish_rate_hz=arm.number("publish_rate_hz", minimum=1.0, maximum=state_rate),
        trajectory_stale_timeout_s=arm.number("trajectory_stale_timeout_s", minimum=0.0),
        state_timeout_s=arm.number("state_timeout_s", minimum=0.05),
        retarget_deadband_m=arm.number("retarget_deadband_m", minimum=0.0, maximum=0.01),
        retarget_deadband_rad=arm.number("retarget_deadband_rad", minimum=0.0, maximum=0.05),
        home_joint_positions=_home_pose(arm),
        tool=arm.req("tool", str))


# FR3 joint position limits (rad), from Franka's robot specification. `~/home` is a joint motion
# that the Cartesian safety layer does not see, so its target is checked here, at load.
FR3_JOINT_LOWER = (-2.7437, -1.7837, -2.9007, -3.0421, -2.8065, 0.5445, -3.0159)
FR3_JOINT_UPPER = (2.7437, 1.7837, 2.9007, -0.1518, 2.8065, 4.5169, 3.0159)


def _home_pose(arm) -> tuple[float, ...]:
    home = arm.vector("home_joint_positions", 7)
    for i, (q, lower, upper) in enumerate(zip(home, FR3_JOINT_LOWER, FR3_JOINT_UPPER)):
        if not lower <= q <= upper:
            raise arm.error(f"home_joint_positions[{i}]",
                            f"a joint position within the FR3 limits [{lower}, {upper}]", q)
    return home


def load_arm_config(path: str | os.PathLike | None = None) -> ArmConfig:
    path = str(path or default_cell_file())
    return _arm(Fields(path, read_yaml(path)))


def load_gripper_config(path: str | os.PathLike | None = None) -> GripperConfig:
    """The gripper section; its robot_ip defaults to the arm's (same controller)."""
    path = str(path or default_cell_file())
    fields = Fields(path, read_yaml(path))
    gripper = fields.sub("gripper")
    gripper.keys_known(GRIPPER_FIELDS)
    robot_ip = gripper.opt("robot_ip", str, None)
    if robot_ip is None:
        robot_ip = fields.sub("arm").req("robot_ip", str)
    return GripperConfig(
        file=path, robot_ip=robot_ip,
        width_poll_hz=gripper.number("width_poll_hz", minimum=0.5, maximum=100.0),
        command_deadband=gripper.number("command_deadband", minimum=0.0, maximum=0.5),
        grasp_below=gripper.number("grasp_below", minimum=0.0, maximum=1.0))
