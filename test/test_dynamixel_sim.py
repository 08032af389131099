"""The bus simulator seen through plain dynamixel-sdk calls, as any Dynamixel tool would use it."""
import time

import dynamixel_sdk as sdk
import pytest

from lad_ros.drivers import dynamixel_protocol as dxl
from lad_ros.sim.dynamixel_bus import REBOOT_TIME_S, DynamixelBusSimulator

pytestmark = pytest.mark.integration


@pytest.fixture
def bus():
    with DynamixelBusSimulator([1, 2, 5], initial_ticks=[0, 100, -100]) as sim:
        port = sdk.PortHandler(sim.port)
        assert port.openPort() and port.setBaudRate(3_000_000)
        yield sim, port, sdk.PacketHandler(2.0)
        port.closePort()


def test_broadcast_ping_finds_every_motor(bus):
    _, port, packets = bus
    found, result = packets.broadcastPing(port)
    assert result == sdk.COMM_SUCCESS
    assert sorted(found) == [1, 2, 5] and found[2][0] == 1300


def test_read_write_and_motion_follow_the_goal_with_a_lag(bus):
    sim, port, packets = bus
    assert packets.write1ByteTxRx(port, 2, dxl.TORQUE_ENABLE.address, 1)[:2] == (
        sdk.COMM_SUCCESS, 0)
    assert packets.write4ByteTxRx(port, 2, dxl.GOAL_POSITION.address, 1100)[0] == sdk.COMM_SUCCESS
    first, result, _ = packets.read4ByteTxRx(port, 2, dxl.PRESENT_POSITION.address)
    assert result == sdk.COMM_SUCCESS and first < 1100  # a lag, not a jump
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and abs(sim.positions()[2] - 1100) > 2:
        time.sleep(0.01)
    assert abs(sim.positions()[2] - 1100) <= 2
    # an out-of-range goal in position mode (3) is refused with a data range error
    result, error = packets.write4ByteTxRx(port, 2, dxl.GOAL_POSITION.address, 5000)
    assert result == sdk.COMM_SUCCESS and error == dxl.ERR_DATA_RANGE


def test_hardware_error_sets_the_alert_bit_until_reboot(bus):
    sim, port, packets = bus
    packets.write1ByteTxRx(port, 5, dxl.TORQUE_ENABLE.address, 1)
    sim.inject_hardware_error(5)
    value, result, error = packets.read1ByteTxRx(port, 5, dxl.HARDWARE_ERROR_STATUS.address)
    assert result == sdk.COMM_SUCCESS and error & dxl.ERR_ALERT
    assert value == 1 << dxl.OVERLOAD_BIT
    assert sim.read_field(5, dxl.TORQUE_ENABLE) == 0  # Shutdown mask turned torque off
    # a faulted motor refuses torque until rebooted
    assert packets.write1ByteTxRx(port, 5, dxl.TORQUE_ENABLE.address, 1) == (
        sdk.COMM_SUCCESS, dxl.ERR_ALERT | dxl.ERR_RESULT_FAIL)
    assert packets.reboot(port, 5) == (sdk.COMM_SUCCESS, dxl.ERR_ALERT)
    assert packets.ping(port, 5)[1] == sdk.COMM_RX_TIMEOUT  # still booting
    time.sleep(REBOOT_TIME_S * 2)
    value, result, error = packets.read1ByteTxRx(port, 5, dxl.HARDWARE_ERROR_STATUS.address)
    assert (value, result, error) == (0, sdk.COMM_SUCCESS, 0)


def test_corrupted_statuses_are_detected_by_the_sdk(bus):
    sim, port, packets = bus
    sim.corrupt_probability = 1.0
    assert packets.ping(port, 1)[1] == sdk.COMM_RX_CORRUPT
    sim.corrupt_probability = 0.0
    assert packets.ping(port, 1)[1] == sdk.COMM_SUCCESS
