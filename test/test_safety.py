"""Safety properties: whatever comes in, nothing outside the limits goes out."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lad_ros.embodiment import load_embodiment
from lad_ros.safety import (EStopLatch, JointLimits, PoseStepLimits, Watchdog, WorkspaceBox,
                            load_safety_config, quaternion_angle, safe_joint_command,
                            safe_pose_command)

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)
FAIVE = JointLimits.from_embodiment(load_embodiment("faive"))
MIMIC = JointLimits.from_embodiment(load_embodiment("mimic"))
GRIPPER = JointLimits.from_embodiment(load_embodiment("franka_gripper"))


def test_huge_quaternion_components_normalize():
    out_xyz, out_quat, verdict = safe_pose_command([0.5, 0, 0.4], [1e308, 1e308, 0, 0],
                                                   [0.5, 0, 0.4], [0, 0, 0, 1], BOX, STEPS)
    assert verdict.accepted and abs(np.linalg.norm(out_quat) - 1) < 1e-9


def _limits_and_vectors():
    return st.sampled_from([FAIVE, MIMIC, GRIPPER]).flatmap(
        lambda lim: st.tuples(st.just(lim),
                              st.lists(ANY_FLOAT, min_size=len(lim.names), max_size=len(lim.names)),
                              st.lists(st.floats(-10, 10), min_size=len(lim.names),
                                       max_size=len(lim.names))))


@settings(max_examples=400, deadline=None)
@given(_limits_and_vectors(), st.floats(allow_nan=True, allow_infinity=True))
def test_joint_output_always_within_limits(case, dt):
    limits, target, previous = case
    output, verdict = safe_joint_command(target, previous, limits, dt)
    assert output.shape == (len(limits.names),)
    assert np.all(np.isfinite(output))
    assert np.all(output >= limits.lower) and np.all(output <= limits.upper)
    if not all(math.isfinite(v) for v in target):
        assert not verdict.accepted


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=11, max_size=11),
       st.lists(st.floats(0, 1.5), min_size=11, max_size=11), st.floats(0, 0.1))
def test_joint_step_never_exceeds_velocity_limit(target, previous, dt):
    previous = FAIVE.clamp(np.array(previous))
    output, _ = safe_joint_command(target, previous, FAIVE, dt)
    assert np.all(np.abs(output - previous) <= FAIVE.max_velocity * dt + 1e-12)


def test_nan_or_wrong_shape_holds_previous():
    previous = np.array(FAIVE.lower) + 0.1
    for bad in ([math.nan] * 11, [1.0] * 10, "open", None):
        output, verdict = safe_joint_command(bad, previous, FAIVE, 0.01)
        assert not verdict.accepted and np.array_equal(output, previous)


def test_in_limit_target_within_reach_passes_unchanged():
    previous = np.array(load_embodiment("faive").neutral)
    target = previous + 0.01
    output, verdict = safe_joint_command(target, previous, FAIVE, 0.1)
    assert verdict.accepted and not verdict.clamped and not verdict.capped
    assert np.allclose(output, target)


BOX = WorkspaceBox(np.array([0.2, -0.5, 0.02]), np.array([0.85, 0.5, 0.8]))
STEPS = PoseStepLimits(0.05, 0.15)
QUAT = st.lists(ANY_FLOAT, min_size=4, max_size=4)
XYZ = st.lists(ANY_FLOAT, min_size=3, max_size=3)


def _unit(q):
    q = np.asarray(q, float)
    return q / np.linalg.norm(q)


@settings(max_examples=400, deadline=None)
@given(XYZ, QUAT,
       st.tuples(st.floats(0.2, 0.85), st.floats(-0.5, 0.5), st.floats(0.02, 0.8)),
       st.lists(st.floats(-1, 1), min_size=4, max_size=4).filter(
           lambda q: np.linalg.norm(q) > 0.1))
def test_pose_output_in_box_and_within_step(xyz, quat, ref_xyz, ref_quat):
    ref_quat = _unit(ref_quat)
    out_xyz, out_quat, verdict = safe_pose_command(xyz, quat, ref_xyz, ref_quat, BOX, STEPS)
    assert np.all(np.isfinite(out_xyz)) and np.all(np.isfinite(out_quat))
    assert BOX.contains(out_xyz)
    assert np.linalg.norm(out_xyz - np.array(ref_xyz)) <= STEPS.max_translation_m + 1e-9
    assert abs(np.linalg.norm(out_quat) - 1) < 1e-9
    assert quaternion_angle(out_quat, ref_quat) <= STEPS.max_rotation_rad + 1e-6


def test_pose_nan_and_zero_quaternion_hold_reference():
    ref_xyz, ref_quat = np.array([0.5, 0.0, 0.4]), np.array([1.0, 0, 0, 0])
    for xyz, quat in (([math.nan, 0, 0], [0, 0, 0, 1]), ([0.5, 0, 0.4], [0, 0, 0, 0]),
                      ([0.5, 0, math.inf], [0, 0, 0, 1])):
        out_xyz, out_quat, verdict = safe_pose_command(xyz, quat, ref_xyz, ref_quat, BOX, STEPS)
        assert not verdict.accepted
        assert np.array_equal(out_xyz, ref_xyz) and np.allclose(out_quat, ref_quat)


def test_pose_outside_box_is_clamped_then_stepped():
    out_xyz, _, verdict = safe_pose_command([2.0, 0.0, 0.4], [1, 0, 0, 0], [0.84, 0.0, 0.4],
                                            [1, 0, 0, 0], BOX, STEPS)
    assert verdict.clamped and out_xyz[0] == pytest.approx(0.85)


def test_watchdog_and_estop():
    dog = Watchdog(0.5)
    assert dog.expired(0.0)
    dog.feed(10.0)
    assert not dog.expired(10.4) and dog.expired(10.6)
    latch = EStopLatch()
    latch.trigger("operator")
    latch.trigger("second reason does not overwrite")
    assert latch.engaged and latch.reason == "operator"
    latch.reset()
    assert not latch.engaged


def test_shipped_safety_config_loads():
    config = load_safety_config()
    assert 0 < config.arm.steps.max_translation_m <= 0.1
    assert np.all(config.arm.workspace.lower < config.arm.workspace.upper)


def test_safety_config_errors_name_field(tmp_path):
    from lad_ros.config import ConfigError
    path = tmp_path / "safety.yaml"
    path.write_text("arm:\n  workspace: {lower_m: [0, 0, 0], upper_m: [1, 1, -1]}\n"
                    "  max_translation_step_m: 0.05\n  max_rotation_step_rad: 0.1\n"
                    "  target_timeout_s: 0.5\nhand: {command_timeout_s: 0.5}\n")
    with pytest.raises(ConfigError, match=r"arm.workspace.lower_m"):
        load_safety_config(path)
    path.write_text(path.read_text().replace("0.05", "5.0").replace("-1]", "1]"))
    with pytest.raises(ConfigError, match=r"max_translation_step_m.*<= 0.2"):
        load_safety_config(path)
