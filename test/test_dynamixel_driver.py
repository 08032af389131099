"""DynamixelHandDriver against the bus simulator on a pty: the driver opens a serial port path and
cannot tell the simulator from a U2D2 with motors. No ROS here."""
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lad_ros.drivers import dynamixel_protocol as dxl
from lad_ros.drivers.dynamixel_hand import DynamixelHandDriver
from lad_ros.drivers.dynamixel_io import BusError, DynamixelBus
from lad_ros.drivers.factory import make_hand_driver
from lad_ros.drivers.joint_motor_map import JointMotorMap
from lad_ros.embodiment import load_embodiment
from lad_ros.hand_control import HandController
from lad_ros.sim.dynamixel_bus import DynamixelBusSimulator

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

FAIVE = load_embodiment("faive")
IDS = list(FAIVE.driver.params["motor_ids"])
MAP = JointMotorMap.from_embodiment(FAIVE)
NEUTRAL_TICKS = MAP.goal_ticks(np.array(FAIVE.neutral)).tolist()


def wait_for(condition, timeout_s=5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def sim():
    with DynamixelBusSimulator(IDS, initial_ticks=NEUTRAL_TICKS, seed=3) as simulator:
        yield simulator


@pytest.fixture
def driver(sim):
    hand = make_hand_driver(FAIVE, port=sim.port, latency_timer_ms=4.0)
    hand.connect()
    yield hand
    hand.close()


def tracks(driver, target, tolerance=0.03, timeout_s=5.0):
    def close_enough():
        driver.command(target)
        state = driver.latest_state()
        return np.max(np.abs(state.position - target)) < tolerance
    return wait_for(close_enough, timeout_s)


def test_connect_configures_the_motors_without_moving_them(sim, driver):
    assert isinstance(driver, DynamixelHandDriver)
    for motor_id in IDS:
        assert sim.read_field(motor_id, dxl.OPERATING_MODE) == 5
        assert sim.read_field(motor_id, dxl.CURRENT_LIMIT) == 200
        assert sim.read_field(motor_id, dxl.GOAL_CURRENT) == 200
        assert sim.read_field(motor_id, dxl.RETURN_DELAY_TIME) == 0
        assert sim.read_field(motor_id, dxl.TORQUE_ENABLE) == 0
    state = driver.latest_state()
    assert np.allclose(state.position, FAIVE.neutral, atol=MAP.ratio.max() * 2e-3)
    health = driver.health()
    assert health.connected and not health.torque_enabled and not health.faults


def test_enable_holds_the_measured_position_then_tracks_commands(sim, driver):
    before = sim.positions()
    driver.enable()
    assert all(sim.read_field(i, dxl.TORQUE_ENABLE) == 1 for i in IDS)
    assert all(sim.read_field(i, dxl.GOAL_POSITION) == round(before[i]) for i in IDS)
    target = np.array(FAIVE.lower) + 0.5 * (np.array(FAIVE.upper) - np.array(FAIVE.lower))
    assert tracks(driver, target)
    sent = time.time_ns()
    assert wait_for(lambda: driver.latest_state().stamp_ns > sent)
    assert driver.latest_state().stamp_ns <= time.time_ns()  # a capture time, not a guess


def assert_goals_in_range(sim):
    low, high = MAP.tick_range()
    for k, motor_id in enumerate(IDS):
        extremes = sim.goal_extremes(motor_id)
        assert extremes is not None
        assert low[k] <= extremes[0] and extremes[1] <= high[k], (motor_id, extremes)


def test_goals_on_the_bus_stay_in_the_motor_range_of_the_joint_limits(sim, driver):
    driver.enable()
    for command in (np.full(len(IDS), 1e9), np.full(len(IDS), -1e9), np.full(len(IDS), np.nan),
                    np.array(FAIVE.upper) + 0.5, np.zeros(3)):
        driver.command(command)
        time.sleep(0.05)
    assert_goals_in_range(sim)  # every goal the motors ever accepted
    assert driver.health().counters["ignored_commands"] == 2  # the NaN and the wrong size


@pytest.fixture(scope="module")
def enabled_hand():
    with DynamixelBusSimulator(IDS, initial_ticks=NEUTRAL_TICKS) as simulator:
        hand = DynamixelHandDriver(FAIVE, port=simulator.port, latency_timer_ms=4.0)
        hand.connect()
        hand.enable()
        yield simulator, hand
        hand.close()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(st.permutations(FAIVE.joint_names),
                          st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1,
                                   max_size=len(IDS))), min_size=1, max_size=6))
def test_whatever_is_commanded_the_bus_only_sees_goals_in_range(enabled_hand, commands):
    sim, hand = enabled_hand
    controller = HandController(FAIVE, command_timeout_s=0.5)
    controller.reset(hand.latest_state().position)
    now = time.time_ns()
    for names, values in commands:
        controller.set_command(names[:len(values)], values, now)
        now += 200_000_000  # large steps: the velocity cap still allows big moves
        hand.command(controller.step(now).command)
        time.sleep(0.012)  # about one bus cycle: the goal goes out
    assert_goals_in_range(sim)


def test_losses_and_corruption_are_retried_and_counted(sim, driver):
    driver.enable()
    sim.drop_probability, sim.corrupt_probability = 0.10, 0.05
    target = np.array(FAIVE.lower) + 0.3 * (np.array(FAIVE.upper) - np.array(FAIVE.lower))
    assert tracks(driver, target, timeout_s=10.0)
    counters = driver.health().counters
    assert counters["timeouts"] > 0 and counters["crc_errors"] > 0 and counters["retries"] > 0
    assert sim.counters.dropped > 0 and sim.counters.corrupted > 0
    assert not driver.health().faults


def test_hardware_error_turns_the_whole_hand_off_until_reboot(sim, driver):
    driver.enable()
    sim.inject_hardware_error(IDS[4], 1 << dxl.OVERLOAD_BIT)
    assert wait_for(lambda: driver.health().faults)
    health = driver.health()
    assert "overload" in health.faults[0] and FAIVE.joint_names[4] in health.faults[0]
    assert wait_for(lambda: all(sim.read_field(i, dxl.TORQUE_ENABLE) == 0 for i in IDS))
    assert not driver.health().torque_enabled
    with pytest.raises(BusError, match="reboot first"):
        driver.enable()
    driver.reboot()
    assert sim.read_field(IDS[4], dxl.HARDWARE_ERROR_STATUS) == 0
    assert not driver.health().faults and not driver.health().torque_enabled
    assert sim.read_field(IDS[4], dxl.OPERATING_MODE) == 5  # EEPROM kept, RAM re-applied
    driver.enable()
    assert tracks(driver, np.array(FAIVE.neutral))


def test_a_blocked_motor_overloads_like_a_real_one(sim, driver):
    driver.enable()
    sim.block(IDS[0])
    assert wait_for(lambda: any("overload" in f for f in driver.health().faults), 5.0)
    assert sim.read_field(IDS[0], dxl.HARDWARE_ERROR_STATUS) & (1 << dxl.OVERLOAD_BIT)


def test_a_motor_that_stops_answering_turns_the_hand_off(sim, driver):
    driver.enable()
    sim.unplug(IDS[7])
    assert wait_for(lambda: driver.health().faults, 5.0)
    assert "not answering" in driver.health().faults[0]
    assert wait_for(lambda: all(sim.read_field(i, dxl.TORQUE_ENABLE) == 0
                                for i in IDS if i != IDS[7]))
    with pytest.raises(BusError, match=f"motor {IDS[7]}: reboot failed"):
        driver.reboot()  # still unplugged: the fault stays
    assert driver.health().faults
    sim.unplug(IDS[7], False)
    driver.reboot()
    assert not driver.health().faults
    driver.enable()
    assert tracks(driver, np.array(FAIVE.neutral))


def test_state_carrying_a_header_pattern_is_read_intact():
    # Present Position -131073 is FF FF FD FF: the motor stuffs its status packet
    ticks = list(NEUTRAL_TICKS)
    ticks[2] = -131073
    with DynamixelBusSimulator(IDS, initial_ticks=ticks) as simulator:
        hand = DynamixelHandDriver(FAIVE, port=simulator.port, latency_timer_ms=4.0)
        hand.connect()
        try:
            position = hand.latest_state().position
            assert position[2] == pytest.approx(MAP.joint_from_ticks(np.array(ticks))[2])
            assert hand.health().counters["incomplete_reads"] == 0
        finally:
            hand.close()


def test_eeprom_writes_are_refused_while_torque_is_on(sim):
    bus = DynamixelBus(sim.port, 3_000_000, latency_timer_ms=4.0)
    bus.open()
    try:
        assert bus.ping(1) == 1300
        bus.write(1, dxl.TORQUE_ENABLE, 1)
        with pytest.raises(BusError, match="refused"):
            bus.write(1, dxl.OPERATING_MODE, 5)
    finally:
        bus.close()


def test_missing_motor_and_missing_port_fail_with_a_clear_error(sim):
    with pytest.raises(BusError, match="motor 12: ping failed"):
        DynamixelHandDriver(load_embodiment("mimic"), port=sim.port,
                            latency_timer_ms=2.0).connect()
    with pytest.raises(BusError, match="cannot open"):
        DynamixelHandDriver(FAIVE, port="/dev/does-not-exist").connect()


def test_hand_zero_prints_the_motor_angles_of_the_zero_pose(capsys):
    from lad_ros.cli import main
    ticks = [100 * k for k in range(len(IDS))]
    with DynamixelBusSimulator(IDS, initial_ticks=ticks) as simulator:
        assert main(["hand-zero", "--embodiment", "faive", "--port", simulator.port]) == 0
        assert all(simulator.read_field(i, dxl.TORQUE_ENABLE) == 0 for i in IDS)
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("motor_zero"))
    zeros = [float(v) for v in line.split("[")[1].rstrip("]").split(",")]
    assert zeros == pytest.approx([t * 2 * np.pi / 4096 for t in ticks], abs=1e-4)
