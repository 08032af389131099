"""`lad sim-demo`: bring up the simulated cell and drive it end to end, then report.

The cell (franky-sim, the Dynamixel bus simulator, arm node, hand node) is started from the
same launch plan `ros2 launch lad_ros cell.launch.py sim:=true` uses. A client then sends a
timed hand trajectory (open -> grasp -> open) and a timed arm Path (a small square in the
workspace), waits for both to finish, and prints what was asked and what was reached.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lad_ros.embodiment import ROBOT_END_EFFECTORS, load_embodiment

HAND_TOLERANCE = 0.05     # rad (or normalized width) at the end of the hand trajectory
ARM_TOLERANCE_M = 0.025   # m at the end of the arm path


@dataclass(frozen=True)
class DemoMotion:
    """Points relative to a start time: [(seconds, values)], values absolute."""
    names: list[str]
    points: list[tuple[float, np.ndarray]]

    @property
    def final(self) -> np.ndarray:
        return self.points[-1][1]

    @property
    def duration_s(self) -> float:
        return self.points[-1][0]


def hand_motion(embodiment: str, seconds_per_leg: float = 2.0) -> DemoMotion:
    """Neutral -> a grasp at 60 % of each joint's range -> neutral."""
    config = load_embodiment(embodiment)
    lower, upper = np.array(config.lower), np.array(config.upper)
    neutral = np.array(config.neutral)
    if config.kind == "parallel_gripper":
        grasp = lower + 0.2 * (upper - lower)
    else:
        grasp = lower + 0.6 * (upper - lower)
    return DemoMotion(config.joint_names, [(0.5, neutral), (0.5 + seconds_per_leg, grasp),
                                           (0.5 + 2 * seconds_per_leg, neutral)])


def arm_square(start_xyz: np.ndarray, side_m: float = 0.06,
               seconds_per_side: float = 1.5) -> list[tuple[float, np.ndarray]]:
    """A square in the horizontal plane starting and ending at start_xyz."""
    corners = [np.zeros(3), np.array([0, side_m, 0]), np.array([side_m, side_m, 0]),
               np.array([side_m, 0, 0]), np.zeros(3)]
    return [(0.5 + i * seconds_per_side, start_xyz + c) for i, c in enumerate(corners)]


def configure(parser) -> None:
    parser.add_argument("--embodiment", choices=ROBOT_END_EFFECTORS, default="faive")
    parser.add_argument("--no-launch", action="store_true",
                        help="drive a cell that is already running instead of starting one")
    parser.add_argument("--robot-ip", default="127.0.0.1",
                        help="loopback address of the simulated robot (any 127.x.y.z)")
    parser.add_argument("--timeout", type=float, default=90.0,
                        help="seconds to wait for the cell to come up")


def run(args) -> int:
    from lad_ros.nodes.demo_client import run_demo
    return run_demo(args.embodiment, launch=not args.no_launch, timeout_s=args.timeout,
                    robot_ip=args.robot_ip)
