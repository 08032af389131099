"""Protocol 2.0 codec (the bus simulator's side): CRC-16, byte stuffing, framing, stream parsing,
checked against the e-manual's worked example and byte for byte against dynamixel-sdk."""
import os
import tty

import dynamixel_sdk as sdk
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lad_ros.drivers import dynamixel_protocol as dxl
from lad_ros.drivers.dynamixel_io import DynamixelBus


def test_crc_of_the_emanual_ping_example():
    # e-manual, protocol 2.0 "Ping" example for ID 1: FF FF FD 00 01 03 00 01 | 19 4E
    packet = dxl.instruction_packet(1, dxl.PING)
    assert packet == bytes.fromhex("FFFFFD0001030001194E")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_crc_matches_the_sdk(data):
    assert dxl.crc16(data) == sdk.PacketHandler(2.0).updateCRC(0, list(data), len(data))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0x00, 0x01, 0xFD, 0xFF]), max_size=40))
def test_stuffing_round_trips_and_hides_headers(body):
    body = bytes(body)
    stuffed = dxl.stuff(body)
    assert dxl.unstuff(stuffed) == body
    # after stuffing, FF FF FD is always followed by the stuffing FD: no header inside a packet
    for i in range(len(stuffed) - 2):
        if stuffed[i:i + 3] == b"\xff\xff\xfd":
            assert stuffed[i + 3:i + 4] == b"\xfd"


def _bytes_on_the_wire(send) -> bytes:
    """What the host writes to a serial port, read from the other end of a pty."""
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        send(os.ttyname(slave))
        return os.read(master, 4096)
    finally:
        os.close(master)
        os.close(slave)


def _through_sdk(call):
    def send(path):
        port = sdk.PortHandler(path)
        assert port.openPort() and port.setBaudRate(3_000_000)
        call(port, sdk.PacketHandler(2.0))
        port.closePort()
    return send


def _through_bus(call):
    def send(path):
        bus = DynamixelBus(path, 3_000_000)
        bus.open()
        call(bus)
        bus.close()
    return send


def test_sync_read_bytes_equal_the_sdks():
    ids = [1, 2, 3, 11]
    sent = _bytes_on_the_wire(_through_sdk(lambda port, ph: ph.syncReadTx(
        port, dxl.STATE_BLOCK_ADDRESS, dxl.STATE_BLOCK_SIZE, ids, len(ids), False)))
    ours = dxl.instruction_packet(dxl.BROADCAST_ID, dxl.SYNC_READ,
                                  bytes([dxl.STATE_BLOCK_ADDRESS, 0, dxl.STATE_BLOCK_SIZE, 0])
                                  + bytes(ids))
    assert sent == ours


def test_sync_write_bytes_equal_the_sdks_without_a_header_pattern():
    goals = {1: 16, 2: -2048, 11: 1_048_575}
    params = [b for i, v in goals.items() for b in (i, *dxl.GOAL_POSITION.encode(v))]
    sent = _bytes_on_the_wire(_through_sdk(
        lambda port, ph: ph.syncWriteTxOnly(port, 116, 4, params, len(params))))
    assert sent == dxl.instruction_packet(dxl.BROADCAST_ID, dxl.SYNC_WRITE,
                                          bytes([116, 0, 4, 0]) + bytes(params))
    assert sent == _bytes_on_the_wire(_through_bus(
        lambda bus: bus.sync_write(dxl.GOAL_POSITION, goals)))


def test_the_bus_layer_stuffs_goals_that_contain_a_header_pattern():
    # Goal -131073 is FF FF FD FF little-endian: the parameters carry FF FF FD, which must go
    # out as FF FF FD FD (dynamixel-sdk 4.1.0's Python txPacket drops its own stuffing).
    goals = {1: 16, 3: -131073}
    sent = _bytes_on_the_wire(_through_bus(lambda bus: bus.sync_write(dxl.GOAL_POSITION, goals)))
    params = bytes([116, 0, 4, 0]) + bytes(
        b for i, v in goals.items() for b in (i, *dxl.GOAL_POSITION.encode(v)))
    assert sent == dxl.instruction_packet(dxl.BROADCAST_ID, dxl.SYNC_WRITE, params)
    assert b"\xff\xff\xfd\xfd" in sent
    [packet] = dxl.PacketParser().feed(sent)
    assert packet.crc_ok and packet.params == params


def test_parser_finds_packets_in_a_noisy_split_stream():
    first = dxl.instruction_packet(1, dxl.READ, bytes([132, 0, 4, 0]))
    second = dxl.status_packet(7, dxl.ERR_ALERT, bytes([0xFF, 0xFF, 0xFD, 0x01]))
    corrupt = bytearray(dxl.instruction_packet(2, dxl.PING))
    corrupt[-1] ^= 0xFF
    stream = b"\x00\xff\x13" + first + b"\xff\xff" + second + bytes(corrupt)
    parser = dxl.PacketParser()
    packets = []
    for i in range(0, len(stream), 3):  # bytes arrive in small pieces
        packets += parser.feed(stream[i:i + 3])
    assert [(p.device_id, p.instruction, p.crc_ok) for p in packets] == [
        (1, dxl.READ, True), (7, dxl.STATUS, True), (2, dxl.PING, False)]
    assert packets[0].params == bytes([132, 0, 4, 0])
    assert packets[1].error == dxl.ERR_ALERT
    assert packets[1].status_params == bytes([0xFF, 0xFF, 0xFD, 0x01])  # unstuffed again


@pytest.mark.parametrize("field, value", [(dxl.PRESENT_POSITION, -123456),
                                          (dxl.PRESENT_CURRENT, -200),
                                          (dxl.GOAL_POSITION, 1_048_575)])
def test_signed_fields_round_trip(field, value):
    assert field.decode(field.encode(value)) == value


def test_state_block_covers_current_velocity_position():
    assert (dxl.STATE_BLOCK_ADDRESS, dxl.STATE_BLOCK_SIZE) == (126, 10)
    assert dxl.describe_hardware_error(1 << dxl.OVERLOAD_BIT) == "overload"
