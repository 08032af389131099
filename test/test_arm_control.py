"""ArmCommander and pose helpers: what the arm is told to do, without franky or ROS."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lad_ros.arm_control import ArmCommander, Pose, Source, timed_pose_points
from lad_ros.drivers.franka_arm import nominal_ee_to_tcp, pose_matrix
from lad_ros.embodiment import load_embodiment
from lad_ros.safety import (ArmSafetyConfig, PoseStepLimits, WorkspaceBox, quaternion_angle)
from lad_ros.timed_trajectory import FollowState

S = 1_000_000_000
DOWN = np.array([1.0, 0.0, 0.0, 0.0])   # tool pointing down, xyzw
SAFETY = ArmSafetyConfig(WorkspaceBox(np.array([0.2, -0.5, 0.02]), np.array([0.85, 0.5, 0.8])),
                         PoseStepLimits(0.05, 0.15), target_timeout_s=0.5)


def commander(stale_s=0.5, deadband_m=0.0, deadband_rad=0.0) -> ArmCommander:
    arm = ArmCommander(SAFETY, stale_s, deadband_m, deadband_rad)
    arm.restart_from(Pose.of([0.5, 0.0, 0.4], DOWN))
    return arm


def line(start_s, n, dx, dt_s=0.1):
    times = (start_s + np.arange(n) * dt_s) * S
    xyz = np.array([[0.5 + dx * i / (n - 1), 0.0, 0.4] for i in range(n)])
    return timed_pose_points(times.astype(np.int64), xyz, np.tile(DOWN, (n, 1)))


def step_and_send(arm, now_ns):
    command = arm.step(now_ns)
    if command.pose is not None:
        arm.mark_sent(command.pose)
    return command


def test_trajectory_is_sampled_at_now_and_interpolated():
    arm = commander()
    assert arm.set_trajectory(line(10.0, 5, 0.04), 10 * S)
    command = step_and_send(arm, int(10.25 * S))
    assert command.source is Source.TRAJECTORY and command.follow_state is FollowState.TRACKING
    np.testing.assert_allclose(command.pose.xyz, [0.525, 0.0, 0.4], atol=1e-9)


def test_holds_before_start_after_end_and_when_stale():
    arm = commander(stale_s=0.3)
    arm.set_trajectory(line(10.0, 3, 0.02), int(9.9 * S))
    assert arm.step(int(9.95 * S)).follow_state is FollowState.WAITING
    assert arm.step(int(9.95 * S)).pose is None
    assert step_and_send(arm, int(10.1 * S)).pose is not None
    stale = arm.step(int(10.25 * S))   # received 0.35 s ago
    assert stale.pose is None and stale.follow_state is FollowState.STALE
    arm.set_trajectory(line(10.0, 3, 0.02), int(10.1 * S))
    finished = arm.step(int(10.3 * S))
    assert finished.pose is None and finished.follow_state is FollowState.FINISHED


def test_zero_stale_timeout_follows_a_path_to_its_end():
    arm = commander(stale_s=0.0)
    arm.set_trajectory(line(10.0, 30, 0.04), 10 * S)
    assert step_and_send(arm, int(12.5 * S)).source is Source.TRAJECTORY


def test_teleop_target_is_held_when_the_stream_stops():
    arm = commander()
    arm.set_teleop_target([0.52, 0.0, 0.4], DOWN, 10 * S)
    assert step_and_send(arm, int(10.1 * S)).source is Source.TELEOP
    late = arm.step(int(10.6 * S))      # target_timeout_s = 0.5
    assert late.source is Source.HOLD and late.pose is None


def test_trajectory_has_priority_over_teleop():
    arm = commander()
    arm.set_teleop_target([0.52, 0.0, 0.4], DOWN, 10 * S)
    arm.set_trajectory(line(10.0, 3, 0.02), 10 * S)
    assert arm.step(int(10.05 * S)).source is Source.TRAJECTORY


def test_estop_refuses_commands_until_reset():
    arm = commander()
    arm.engage_estop("test")
    assert not arm.set_trajectory(line(10.0, 3, 0.02), 10 * S)
    arm.set_teleop_target([0.52, 0.0, 0.4], DOWN, 10 * S)
    assert arm.step(int(10.05 * S)).pose is None
    arm.estop.reset()
    arm.set_teleop_target([0.52, 0.0, 0.4], DOWN, 10 * S)
    assert arm.step(int(10.05 * S)).pose is not None


def test_deadband_skips_negligible_retargets():
    arm = commander(deadband_m=0.001, deadband_rad=0.01)
    arm.set_teleop_target([0.52, 0.0, 0.4], DOWN, 10 * S)
    assert step_and_send(arm, 10 * S).pose is not None
    arm.set_teleop_target([0.5205, 0.0, 0.4], DOWN, 10 * S)
    assert arm.step(10 * S).pose is None and arm.counters.deadband == 1


def test_non_finite_targets_are_held():
    arm = commander()
    arm.set_teleop_target([math.nan, 0.0, 0.4], DOWN, 10 * S)
    command = arm.step(10 * S)
    assert command.pose is None and not command.verdict.accepted
    assert arm.counters.rejected == 1


def test_timed_pose_points_keep_quaternions_in_one_hemisphere():
    points = timed_pose_points([1, 2], [[0.5, 0, 0.4]] * 2, [DOWN, -DOWN])
    np.testing.assert_allclose(points.points[1, 3:], DOWN)


@pytest.mark.parametrize("quat", [[0, 0, 0, 0], [math.nan, 0, 0, 1]])
def test_timed_pose_points_reject_bad_rotations(quat):
    with pytest.raises(ValueError):
        timed_pose_points([1, 2], [[0.5, 0, 0.4]] * 2, [DOWN, quat])


def test_timed_pose_points_reject_nan_positions():
    with pytest.raises(ValueError):
        timed_pose_points([1, 2], [[0.5, 0, 0.4], [math.nan, 0, 0.4]], [DOWN, DOWN])


def test_set_ee_accounts_for_the_nominal_end_effector():
    tool = load_embodiment("franka_gripper").tool
    hand = pose_matrix(tool.flange_to_tcp_xyz_m, tool.flange_to_tcp_quat_xyzw)
    # Desk already configured the Franka Hand as nominal EE: nothing more to add.
    np.testing.assert_allclose(nominal_ee_to_tcp(hand, tool), np.eye(4).reshape(-1), atol=1e-6)
    # No nominal EE: NE_T_EE is the whole flange->TCP transform, column-major.
    column_major = np.asarray(nominal_ee_to_tcp(np.eye(4), tool)).reshape(4, 4, order="F")
    np.testing.assert_allclose(column_major, hand, atol=1e-9)


anything = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                     st.floats(min_value=-3.0, max_value=3.0))
targets = st.tuples(st.lists(anything, min_size=3, max_size=3),
                    st.lists(anything, min_size=4, max_size=4))


@settings(max_examples=200, deadline=None)
@given(st.lists(targets, min_size=1, max_size=15))
def test_every_pose_sent_is_finite_in_the_box_and_within_the_step_caps(sequence):
    arm = commander()
    previous = arm.reference
    for i, (xyz, quat) in enumerate(sequence):
        arm.set_teleop_target(xyz, quat, 10 * S + i)
        command = step_and_send(arm, 10 * S + i)
        if command.pose is None:
            continue
        pose = command.pose
        assert np.all(np.isfinite(pose.xyz)) and np.all(np.isfinite(pose.quat))
        assert SAFETY.workspace.contains(pose.xyz)
        assert np.linalg.norm(pose.xyz - previous.xyz) <= 0.05 + 1e-9
        assert quaternion_angle(pose.quat, previous.quat) <= 0.15 + 1e-6
        previous = pose


class _StillRobot:
    """Just enough of franky.Robot for the driver's stop/error path."""
    is_in_control = True

    def __init__(self):
        self.recovered = 0

    def move(self, motion, asynchronous=False, **_):
        pass

    def recover_from_errors(self):
        self.recovered += 1


def _arm_with_still_robot():
    from lad_ros.drivers.franka_arm import FrankaArm
    from lad_ros.drivers.franka_config import load_arm_config
    from lad_ros.safety import load_safety_config
    arm = FrankaArm(load_arm_config(), load_safety_config().arm)
    arm._robot = _StillRobot()
    return arm


def test_a_stop_whose_planner_fails_is_counted_not_latched():
    arm = _arm_with_still_robot()
    arm._stop_motion(arm._robot)   # e.g. the e-stop's smooth stop
    arm._stop_failed_or_latch(RuntimeError("Motion planner failed with error code -111"))
    assert arm.status().error == "" and arm.stop_failures == 1 and arm._robot.recovered == 1


def test_a_planner_failure_of_a_real_motion_latches():
    arm = _arm_with_still_robot()
    arm._send_pose(arm._robot, Pose(np.array([0.5, 0.0, 0.4]), np.array([1.0, 0, 0, 0])))
    arm._stop_failed_or_latch(RuntimeError("Motion planner failed with error code -111"))
    assert "Motion planner failed" in arm.status().error and arm.stop_failures == 0
