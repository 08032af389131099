"""FrankaGripperDriver against franky-sim's simulated Franka Hand (port 1338, MuJoCo fingers)."""
import time

import numpy as np
import pytest

from franky_sim_fixture import franky_sim  # noqa: F401 - fixture
from lad_ros.drivers.franka_config import load_gripper_config
from lad_ros.drivers.franka_gripper import FrankaGripperDriver
from lad_ros.embodiment import load_embodiment


def wait_for(predicate, timeout_s, poll_s=0.05):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll_s)
    return predicate()


def width(driver) -> float:
    state = driver.latest_state()
    return float(state.position[0]) if state is not None else float("nan")


def test_needs_a_parallel_gripper_config():
    with pytest.raises(ValueError):
        FrankaGripperDriver(load_embodiment("faive"), "127.0.0.1")


@pytest.mark.integration
def test_gripper_opens_and_closes_without_blocking_the_caller(franky_sim):  # noqa: F811
    driver = FrankaGripperDriver(load_embodiment("franka_gripper"), franky_sim.hostname,
                                 settings=load_gripper_config())
    driver.connect()
    try:
        assert driver.joint_names == ["gripper_width"]
        assert wait_for(lambda: driver.latest_state() is not None, 5.0)
        assert width(driver) == pytest.approx(0.5, abs=0.02)   # franky-sim starts at 4 cm

        driver.command([1.0])            # not enabled yet: ignored
        time.sleep(0.3)
        assert width(driver) == pytest.approx(0.5, abs=0.02)

        driver.enable()
        started = time.perf_counter()
        driver.command(np.array([1.0]))
        print(f"\ncommand() returned in {(time.perf_counter() - started) * 1e6:.0f} us")
        assert wait_for(lambda: width(driver) > 0.95, 15.0), width(driver)

        driver.command([float("nan")])   # never reaches the gripper
        driver.command([0.0])            # grasp: closes until the fingers stop
        assert wait_for(lambda: width(driver) < 0.05, 15.0), width(driver)
        stamps = [driver.latest_state().stamp_ns]
        time.sleep(0.3)
        stamps.append(driver.latest_state().stamp_ns)
        assert stamps[1] > stamps[0]     # the width keeps being read
        health = driver.health()
        assert health.connected and not health.faults
        assert health.counters["motions"] == 2 and health.counters["grasps"] == 1
    finally:
        driver.close()


@pytest.fixture
def driver(franky_sim):  # noqa: F811
    """A gripper driver connected to this test's franky-sim, closed afterwards."""
    gripper = FrankaGripperDriver(load_embodiment("franka_gripper"), franky_sim.hostname)
    gripper.connect()
    yield gripper
    gripper.close()


@pytest.mark.integration
def test_targets_arriving_during_a_motion_are_executed_after_it(driver):
    driver.enable()
    driver.command([1.0])
    time.sleep(0.2)
    for target in (0.9, 0.8, 0.75):   # newest wins, intermediate ones are skipped
        driver.command([target])
    # The running motion is not preempted: it opens fully first, then goes to 0.75.
    assert wait_for(lambda: width(driver) > 0.95, 15.0), width(driver)
    assert wait_for(lambda: driver.health().counters["motions"] == 2, 5.0)
    assert wait_for(lambda: abs(width(driver) - 0.75) < 0.02, 15.0), width(driver)


@pytest.mark.integration
def test_lost_gripper_is_a_fault_and_reboot_reconnects(franky_sim, driver):  # noqa: F811
    driver.enable()
    assert wait_for(lambda: driver.latest_state() is not None, 5.0)
    franky_sim.kill()
    assert wait_for(lambda: driver.health().faults, 15.0)
    assert not driver.health().connected
    franky_sim.start()
    driver.reboot()
    driver.enable()
    before = driver.latest_state().stamp_ns
    assert wait_for(lambda: driver.latest_state().stamp_ns > before, 5.0)
    driver.command([1.0])
    assert wait_for(lambda: width(driver) > 0.95, 15.0), width(driver)
