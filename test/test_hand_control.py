"""Hand node logic without ROS: input mapping by name, newest input wins, watchdog hold, safety on
every output, diagnostics levels."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lad_ros.drivers.hand_driver import DriverHealth
from lad_ros.drivers.joint_motor_map import JointMotorMap
from lad_ros.embodiment import load_embodiment
from lad_ros.hand_control import HandController, InputCounters, hand_report, trajectory_times_ns

FAIVE = load_embodiment("faive")
NAMES = FAIVE.joint_names
MS = 1_000_000
S = 1_000_000_000


def controller(start=None):
    hand = HandController(FAIVE, command_timeout_s=0.5)
    hand.reset(np.array(FAIVE.neutral) if start is None else start)
    return hand


def run(hand, start_ns, end_ns, period_ns=10 * MS):
    step = None
    for now in range(start_ns, end_ns + 1, period_ns):
        step = hand.step(now)
    return step


def test_trajectory_with_shuffled_and_partial_names_maps_by_name():
    hand = controller()
    names = [NAMES[3], NAMES[0]]  # two joints, reversed order: the others hold
    accepted, _ = hand.set_trajectory(names, [0, 500 * MS], [[0.2, 0.5], [0.6, 1.0]], 0)
    assert accepted
    step = run(hand, 0, 2 * S)
    expected = np.array(FAIVE.neutral)
    expected[3], expected[0] = 0.6, 1.0
    assert np.allclose(step.command, expected)
    assert step.source == "finished"


def test_unknown_or_duplicate_names_and_bad_shapes_are_rejected():
    hand = controller()
    assert hand.set_trajectory(["nope"], [0], [[0.1]], 0) == (False, hand.counters.last_rejection)
    assert "unknown joint names" in hand.counters.last_rejection
    assert not hand.set_trajectory([NAMES[0]] * 2, [0], [[0.1, 0.1]], 0)[0]
    assert not hand.set_trajectory([NAMES[0]], [0], [[0.1, 0.2]], 0)[0]
    assert not hand.set_trajectory([NAMES[0]], [0, 0], [[0.1], [0.2]], 0)[0]  # not increasing
    assert not hand.set_trajectory([NAMES[0]], [0], [[float("nan")]], 0)[0]
    assert not hand.set_trajectory([NAMES[0]], [1 * S], [[0.1]], 2 * S)[0]  # all in the past
    assert not hand.set_command([NAMES[0]], [float("inf")], 0)[0]
    assert hand.counters.rejected == 7


def test_teleop_is_held_when_the_stream_stops_and_newest_input_wins():
    hand = controller()
    target = np.array(FAIVE.neutral) + 0.3
    assert hand.set_command([], target, 0)[0]  # empty names: embodiment order
    assert run(hand, 0, 300 * MS).source == "teleop"
    held = hand.step(800 * MS)  # 0.8 s after the last command: watchdog (0.5 s) expired
    assert held.source == "teleop stale"
    assert np.allclose(hand.step(900 * MS).command, held.command)
    hand.set_trajectory(NAMES, [900 * MS, 1900 * MS], [FAIVE.neutral, FAIVE.neutral], 900 * MS)
    assert hand.step(1000 * MS).source == "tracking"


def test_input_age_is_reported_for_stamped_inputs_only():
    hand = controller()
    hand.note_input_stamp(0, 5 * S)
    assert hand_report(DriverHealth(True, True), True, None, hand.counters,
                       "idle").values["input_age_ms"] == "n/a"
    hand.note_input_stamp(5 * S, 5 * S + 42 * MS)
    assert hand_report(DriverHealth(True, True), True, None, hand.counters,
                       "idle").values["input_age_ms"] == "42.0"


def test_trajectory_times_are_stamp_plus_offset_and_zero_stamp_means_now():
    assert trajectory_times_ns(5 * S, [0, MS], 9 * S).tolist() == [5 * S, 5 * S + MS]
    assert trajectory_times_ns(0, [0, MS], 9 * S).tolist() == [9 * S, 9 * S + MS]


def test_reports_error_on_faults_warn_on_losses_ok_otherwise():
    inputs = InputCounters()
    healthy = DriverHealth(True, True, [], {"timeouts": 3, "crc_errors": 0})
    assert hand_report(healthy, True, {"timeouts": 3}, inputs, "tracking").level == "OK"
    lossy = hand_report(healthy, True, {"timeouts": 1}, inputs, "tracking")
    assert lossy.level == "WARN" and "2 timeouts" in lossy.message
    faulted = DriverHealth(True, False, ["motor 3 (x): hardware error: overload"], {})
    report = hand_report(faulted, True, None, inputs, "torque off")
    assert report.level == "ERROR" and "overload" in report.message
    assert hand_report(DriverHealth(True, False), True, None, inputs, "").level == "ERROR"


finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=64)
joint_values = st.lists(finite_or_not, min_size=1, max_size=len(NAMES))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["trajectory", "command", "tick"]),
                          st.permutations(NAMES), joint_values,
                          st.integers(0, 300 * MS)), max_size=25))
def test_whatever_arrives_the_goals_stay_in_range_and_steps_are_capped(events):
    hand = controller()
    joint_map = JointMotorMap.from_embodiment(FAIVE)
    low, high = joint_map.tick_range()
    limits = hand.limits
    now, previous = 0, hand.last_command
    for kind, names, values, delay in events:
        names = names[:len(values)]
        if kind == "trajectory":
            rows = [values, [v * 0.5 for v in values]]
            hand.set_trajectory(names, [now, now + 200 * MS], rows, now)
        elif kind == "command":
            hand.set_command(names, values, now)
        step_dt = delay / 1e9
        now += delay
        command = hand.step(now).command
        assert np.all(command >= limits.lower) and np.all(command <= limits.upper)
        assert np.all(np.abs(command - previous) <= limits.max_velocity * min(step_dt, 1.0) + 1e-9)
        ticks = joint_map.goal_ticks(command)
        assert np.all(ticks >= low) and np.all(ticks <= high)
        previous = command


def test_reset_clamps_a_hand_that_starts_outside_its_limits():
    start = np.array(FAIVE.upper) + 0.2
    hand = controller(start)
    assert np.allclose(hand.last_command, FAIVE.upper)
    assert hand.step(0).source == "idle"


@pytest.mark.parametrize("name", ["faive", "mimic"])
def test_controller_works_for_each_dynamixel_hand(name):
    config = load_embodiment(name)
    hand = HandController(config, command_timeout_s=0.5)
    hand.reset(np.array(config.neutral))
    goal = np.array(config.upper)
    hand.set_trajectory(config.joint_names, [0, S], [config.neutral, goal], 0)
    assert np.allclose(run(hand, 0, 2 * S).command, goal)
