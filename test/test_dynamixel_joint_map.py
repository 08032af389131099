"""Joint <-> motor maps: the Faive tendon/spool model, the mimic's calibrated linear map."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lad_ros.drivers.joint_motor_map import RAD_PER_TICK, JointMotorMap
from lad_ros.embodiment import load_embodiment


def test_tendon_spool_ratio_is_moment_arm_over_spool_radius():
    faive = load_embodiment("faive")
    joint_map = JointMotorMap.from_embodiment(faive)
    # 6 mm moment arm on a 4 mm spool radius (8 mm spool): the motor turns 1.5x the joint
    assert joint_map.ratio[0] == pytest.approx(1.5)
    ticks = joint_map.goal_ticks(np.full(11, 1.0))
    assert ticks[0] == round(1.5 / RAD_PER_TICK)


def test_reversed_motor_with_offset_round_trips():
    mapping = {"model": "linear", "gain": [-2.0, 1.0], "motor_zero_rad": [math.pi, 0.5]}
    joint_map = JointMotorMap.from_params(mapping, [0.0, -1.0], [1.0, 1.0])
    joint = np.array([0.4, -0.3])
    assert joint_map.goal_ticks(joint)[0] == round((math.pi - 0.8) / RAD_PER_TICK)
    back = joint_map.joint_from_ticks(joint_map.goal_ticks(joint))
    assert np.allclose(back, joint, atol=RAD_PER_TICK)
    low, high = joint_map.tick_range()
    assert low[0] < high[0]  # ordered although the gain is negative


def test_zero_ratio_and_non_finite_goals_are_refused():
    with pytest.raises(ValueError, match="zero ratio"):
        JointMotorMap.from_params({"model": "linear", "gain": [0.0], "motor_zero_rad": [0.0]},
                                  [0.0], [1.0])
    joint_map = JointMotorMap.from_embodiment(load_embodiment("mimic"))
    with pytest.raises(ValueError, match="finite"):
        joint_map.goal_ticks(np.full(16, np.nan))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=16, max_size=16),
       st.lists(st.floats(-5.0, 5.0).filter(lambda g: abs(g) > 1e-3), min_size=16,
                max_size=16))
def test_any_finite_command_maps_into_the_limits_tick_range(joint, gains):
    mimic = load_embodiment("mimic")
    mapping = {"model": "linear", "gain": gains, "motor_zero_rad": [0.3] * 16}
    joint_map = JointMotorMap.from_params(mapping, mimic.lower, mimic.upper)
    ticks = joint_map.goal_ticks(np.array(joint))
    low, high = joint_map.tick_range()
    assert np.all(ticks >= low) and np.all(ticks <= high)
