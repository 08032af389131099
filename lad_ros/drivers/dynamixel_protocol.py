"""Dynamixel protocol 2.0 facts: packet framing, CRC-16, byte stuffing, the X-series control table.

Plain functions on bytes, no I/O. The hand driver talks to the bus through dynamixel-sdk; this
module is what the bus simulator (a protocol peer) is built on, and what the tests check both
against: an independent encoding that must interoperate with the SDK byte for byte.

Packet layout (ROBOTIS e-manual, "Protocol 2.0"):
    FF FF FD 00 | ID | LEN_L LEN_H | INST | params... | CRC_L CRC_H
LEN counts INST + params + CRC after stuffing; a status packet's INST is 0x55, followed by ERR.
Stuffing: inside INST..params, every FF FF FD gets an extra FD so a header never appears there.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

HEADER = b"\xff\xff\xfd\x00"
BROADCAST_ID = 0xFE

# Instructions
PING, READ, WRITE, REG_WRITE, ACTION, FACTORY_RESET = 0x01, 0x02, 0x03, 0x04, 0x05, 0x06
REBOOT, CLEAR, STATUS, SYNC_READ, SYNC_WRITE = 0x08, 0x10, 0x55, 0x82, 0x83

# Status packet ERR byte: bit 7 = hardware alert, bits 0..6 = error number
ERR_ALERT = 0x80
ERR_RESULT_FAIL, ERR_INSTRUCTION, ERR_CRC, ERR_DATA_RANGE = 1, 2, 3, 4
ERR_DATA_LENGTH, ERR_DATA_LIMIT, ERR_ACCESS = 5, 6, 7


@dataclass(frozen=True)
class Field:
    address: int
    size: int
    signed: bool = False

    def decode(self, data: bytes, offset: int = 0) -> int:
        return int.from_bytes(data[offset:offset + self.size], "little", signed=self.signed)

    def encode(self, value: int) -> bytes:
        return int(value).to_bytes(self.size, "little", signed=self.signed)


# X-series control table (XC330 / XM430 share these addresses). Addresses < 64 are EEPROM:
# writable only while torque is off.
MODEL_NUMBER = Field(0, 2)
FIRMWARE_VERSION = Field(6, 1)
ID = Field(7, 1)
BAUD_RATE = Field(8, 1)
RETURN_DELAY_TIME = Field(9, 1)        # unit 2 us
OPERATING_MODE = Field(11, 1)
CURRENT_LIMIT = Field(38, 2)
MAX_POSITION_LIMIT = Field(48, 4)
MIN_POSITION_LIMIT = Field(52, 4)
SHUTDOWN = Field(63, 1)                # which hardware errors turn torque off
EEPROM_END = 64
TORQUE_ENABLE = Field(64, 1)
LED = Field(65, 1)
STATUS_RETURN_LEVEL = Field(68, 1)     # 0: ping only, 1: + read, 2: all instructions
HARDWARE_ERROR_STATUS = Field(70, 1)
GOAL_CURRENT = Field(102, 2, signed=True)
GOAL_POSITION = Field(116, 4, signed=True)
PRESENT_CURRENT = Field(126, 2, signed=True)
PRESENT_VELOCITY = Field(128, 4, signed=True)
PRESENT_POSITION = Field(132, 4, signed=True)
CONTROL_TABLE_SIZE = 147

# The driver's per-cycle sync read: one block from Present Current to the end of Present Position.
STATE_BLOCK_ADDRESS = PRESENT_CURRENT.address
STATE_BLOCK_SIZE = PRESENT_POSITION.address + PRESENT_POSITION.size - STATE_BLOCK_ADDRESS

OPERATING_MODES = {0: "current", 1: "velocity", 3: "position", 4: "extended position",
                   5: "current-based position", 16: "PWM"}
# Goal Position range in the multi-turn modes (4, 5); mode 3 uses the min/max position limits.
MULTI_TURN_RANGE = (-1_048_575, 1_048_575)
TICKS_PER_REV = 4096
VELOCITY_UNIT_RPM = 0.229

BAUD_RATE_CODES = {9600: 0, 57600: 1, 115200: 2, 1_000_000: 3, 2_000_000: 4, 3_000_000: 5,
                   4_000_000: 6, 4_500_000: 7}

HARDWARE_ERROR_BITS = {0: "input voltage", 2: "overheating", 3: "motor encoder",
                       4: "electrical shock", 5: "overload"}
OVERLOAD_BIT = 5


def describe_hardware_error(status: int) -> str:
    names = [name for bit, name in HARDWARE_ERROR_BITS.items() if status & (1 << bit)]
    return ", ".join(names) or f"unknown (0x{status:02x})"


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) if crc & 0x8000 else crc << 1
        table.append(crc & 0xFFFF)
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes, crc: int = 0) -> int:
    """CRC-16 (polynomial 0x8005, init 0, not reflected) as Dynamixel protocol 2.0 uses it."""
    for byte in data:
        crc = ((crc << 8) ^ _CRC_TABLE[((crc >> 8) ^ byte) & 0xFF]) & 0xFFFF
    return crc


def stuff(body: bytes) -> bytes:
    """Insert 0xFD after every FF FF FD inside the instruction + parameter bytes."""
    out = bytearray()
    for byte in body:
        out.append(byte)
        if byte == 0xFD and out[-3:-1] == b"\xff\xff" and len(out) >= 3:
            out.append(0xFD)
    return bytes(out)


def unstuff(body: bytes) -> bytes:
    out = bytearray()
    index = 0
    while index < len(body):
        out.append(body[index])
        if body[index] == 0xFD and out[-3:-1] == b"\xff\xff" and len(out) >= 3 and \
                index + 1 < len(body) and body[index + 1] == 0xFD:
            index += 1  # skip the stuffed FD
        index += 1
    return bytes(out)


def _frame(device_id: int, body: bytes) -> bytes:
    stuffed = stuff(body)
    packet = HEADER + bytes([device_id]) + struct.pack("<H", len(stuffed) + 2) + stuffed
    return packet + struct.pack("<H", crc16(packet))


def instruction_packet(device_id: int, instruction: int, params: bytes = b"") -> bytes:
    return _frame(device_id, bytes([instruction]) + bytes(params))


def status_packet(device_id: int, error: int, params: bytes = b"") -> bytes:
    return _frame(device_id, bytes([STATUS, error]) + bytes(params))


@dataclass(frozen=True)
class Packet:
    device_id: int
    instruction: int
    params: bytes      # unstuffed; for a status packet the ERR byte comes first
    crc_ok: bool

    @property
    def error(self) -> int:
        return self.params[0] if self.instruction == STATUS and self.params else 0

    @property
    def status_params(self) -> bytes:
        return self.params[1:] if self.instruction == STATUS else self.params


class PacketParser:
    """Stream parser: feed bytes as they arrive, take complete packets out.

    Garbage before a header is skipped; a packet whose CRC fails is returned with crc_ok False
    (the ID may still be right, so a motor can answer with a CRC error).
    """

    MAX_LENGTH = 1024

    def __init__(self):
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Packet]:
        self._buffer.extend(data)
        packets = []
        while True:
            start = self._buffer.find(HEADER)
            if start < 0:
                del self._buffer[:max(0, len(self._buffer) - 3)]  # keep a possible split header
                return packets
            del self._buffer[:start]
            if len(self._buffer) < 7:
                return packets
            length = self._buffer[5] | (self._buffer[6] << 8)
            if length < 3 or length > self.MAX_LENGTH:
                del self._buffer[:1]  # not a real header
                continue
            total = 7 + length
            if len(self._buffer) < total:
                return packets
            raw = bytes(self._buffer[:total])
            del self._buffer[:total]
            crc_ok = crc16(raw[:-2]) == (raw[-2] | (raw[-1] << 8))
            body = unstuff(raw[7:-2])
            packets.append(Packet(raw[4], body[0], body[1:], crc_ok))
