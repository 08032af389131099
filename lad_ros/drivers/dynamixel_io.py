"""Bus access for one Dynamixel chain through dynamixel-sdk (protocol 2.0), with retries.

Only ever used from one thread (the driver's bus thread). What the SDK's GroupSyncRead does not
give, this adds: the ERR byte of every status packet (its alert bit flags a hardware error),
keeping the answers that did arrive when one motor's status is lost or corrupt, and retrying
only the missing motors, a bounded number of times.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import dynamixel_sdk as sdk

from lad_ros.drivers import dynamixel_protocol as dxl


SDK_LATENCY_TIMER_MS = 16.0  # FTDI default, and what dynamixel-sdk budgets for


def ftdi_latency_timer_ms(port: str,
                          sysfs: str = "/sys/bus/usb-serial/devices") -> float | None:
    """The USB-serial adapter's latency timer (a U2D2 is an FTDI chip), or None when the port
    is not a USB-serial device (e.g. a pty)."""
    name = os.path.basename(os.path.realpath(port))
    try:
        return float(Path(sysfs, name, "latency_timer").read_text().strip())
    except (OSError, ValueError):
        return None


class BusError(RuntimeError):
    """The bus did not answer as required after the retries (port, motor, what failed)."""


@dataclass
class BusCounters:
    timeouts: int = 0
    crc_errors: int = 0
    retries: int = 0
    status_errors: int = 0          # a motor answered with an ERR number (not the alert bit)
    incomplete_reads: int = 0       # cycles where some motor was still missing after retries
    cycles: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class MotorReading:
    data: bytes
    error: int  # status ERR byte; dxl.ERR_ALERT set = hardware error on this motor


class _PortHandler(sdk.PortHandler):
    """The SDK port with two changes: the FTDI latency timer it budgets for is configurable
    (the SDK hard-codes 16 ms), and reads wait on the port in short slices instead of
    spinning the CPU while a status packet is on its way."""

    READ_SLICE_S = 0.001

    def __init__(self, port_name: str, latency_timer_ms: float):
        super().__init__(port_name)
        self.latency_timer_ms = latency_timer_ms

    def setupPort(self, cflag_baud):
        ok = super().setupPort(cflag_baud)
        self.ser.timeout = self.READ_SLICE_S
        return ok

    def setPacketTimeout(self, packet_length):
        self.packet_start_time = self.getCurrentTime()
        self.packet_timeout = (self.tx_time_per_byte * packet_length
                               + 2.0 * self.latency_timer_ms + 2.0)


class _PacketHandler(sdk.Protocol2PacketHandler):
    """The SDK's protocol 2.0 handler with byte stuffing done by our codec: dynamixel-sdk 4.1.0
    (Python) discards the stuffed packet its addStuffing builds, so parameters containing
    FF FF FD would go out unstuffed and a motor would see a false header."""

    def addStuffing(self, packet):
        length = packet[5] | (packet[6] << 8)
        body = bytes(packet[7:7 + length - 2])
        stuffed = dxl.stuff(body)
        if len(stuffed) != len(body):
            new_length = len(stuffed) + 2
            packet[:] = [*packet[:5], new_length & 0xFF, new_length >> 8, *stuffed, 0, 0]
        return packet


_RETRYABLE = (sdk.COMM_RX_TIMEOUT, sdk.COMM_RX_CORRUPT)


class DynamixelBus:
    def __init__(self, port: str, baudrate: int, latency_timer_ms: float = 16.0,
                 max_retries: int = 2):
        self.port_name = port
        self.baudrate = baudrate
        self.max_retries = max_retries
        self.counters = BusCounters()
        self._port = _PortHandler(port, latency_timer_ms)
        self._packets = _PacketHandler()

    # --- port ---------------------------------------------------------------------------------
    def open(self) -> None:
        try:
            opened = self._port.openPort() and self._port.setBaudRate(self.baudrate)
        except Exception as error:  # pyserial raises SerialException / OSError
            raise BusError(f"{self.port_name}: cannot open the serial port: {error}") from error
        if not opened:
            raise BusError(f"{self.port_name}: cannot open at {self.baudrate} baud")

    def close(self) -> None:
        if self._port.is_open:
            self._port.closePort()

    # --- single-motor transactions, retried -------------------------------------------------
    def _count_failure(self, result: int) -> None:
        if result == sdk.COMM_RX_TIMEOUT:
            self.counters.timeouts += 1
        elif result == sdk.COMM_RX_CORRUPT:
            self.counters.crc_errors += 1

    def _transact(self, what: str, motor_id: int, call):
        """Run `call()` -> (value, result, error) until it succeeds or the retries run out."""
        result = sdk.COMM_TX_FAIL
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.counters.retries += 1
            value, result, error = call()
            if result == sdk.COMM_SUCCESS:
                if error & ~dxl.ERR_ALERT:
                    self.counters.status_errors += 1
                return value, error
            self._count_failure(result)
            if result not in _RETRYABLE:
                break
        raise BusError(f"{self.port_name}: motor {motor_id}: {what} failed: "
                       f"{self._packets.getTxRxResult(result)}")

    def ping(self, motor_id: int) -> int:
        """The motor's model number."""
        model, _ = self._transact("ping", motor_id,
                                  lambda: self._packets.ping(self._port, motor_id))
        return model

    def read(self, motor_id: int, field_: dxl.Field) -> int:
        readers = {1: self._packets.read1ByteTxRx, 2: self._packets.read2ByteTxRx,
                   4: self._packets.read4ByteTxRx}
        raw, _ = self._transact(f"read address {field_.address}", motor_id,
                                lambda: readers[field_.size](self._port, motor_id,
                                                             field_.address))
        return field_.decode(int(raw).to_bytes(field_.size, "little"))

    def write(self, motor_id: int, field_: dxl.Field, value: int) -> None:
        data = list(field_.encode(value))

        def call():
            result, error = self._packets.writeTxRx(self._port, motor_id, field_.address,
                                                    field_.size, data)
            return None, result, error
        _, error = self._transact(f"write address {field_.address}", motor_id, call)
        if error & ~dxl.ERR_ALERT:
            raise BusError(f"{self.port_name}: motor {motor_id}: write {value} to address "
                           f"{field_.address} refused: "
                           f"{self._packets.getRxPacketError(error & ~dxl.ERR_ALERT)}")

    def reboot(self, motor_id: int) -> None:
        self._transact("reboot", motor_id, lambda: (None, *self._packets.reboot(self._port,
                                                                                motor_id)))

    # --- group transactions ---------------------------------------------------------------------
    def sync_write(self, field_: dxl.Field, values: dict[int, int]) -> None:
        """One broadcast packet; motors do not answer, so a lost packet is only noticed
        by what is read back: callers resend their newest goals every cycle."""
        params = []
        for motor_id, value in values.items():
            params.append(motor_id)
            params.extend(field_.encode(value))
        result = self._packets.syncWriteTxOnly(self._port, field_.address, field_.size, params,
                                               len(params))
        if result != sdk.COMM_SUCCESS:
            raise BusError(f"{self.port_name}: sync write failed: "
                           f"{self._packets.getTxRxResult(result)}")

    def sync_read(self, motor_ids: list[int], address: int, length: int
                  ) -> dict[int, MotorReading]:
        """Read the same block from every motor; retries the missing ones. Returns what
        arrived (a motor still missing after the retries is absent from the result)."""
        self.counters.cycles += 1
        readings: dict[int, MotorReading] = {}
        missing = list(motor_ids)
        for attempt in range(self.max_retries + 1):
            if attempt:
                self.counters.retries += 1
            self._sync_read_once(missing, address, length, readings)
            missing = [i for i in motor_ids if i not in readings]
            if not missing:
                break
        if missing:
            self.counters.incomplete_reads += 1
        return readings

    def _sync_read_once(self, motor_ids: list[int], address: int, length: int,
                        readings: dict[int, MotorReading]) -> None:
        result = self._packets.syncReadTx(self._port, address, length, list(motor_ids),
                                          len(motor_ids), False)
        if result != sdk.COMM_SUCCESS:
            raise BusError(f"{self.port_name}: sync read: {self._packets.getTxRxResult(result)}")
        expected = set(motor_ids)
        while expected:
            # "fast" only skips the SDK's unstuffing (lossy in corner cases); ours follows
            packet, result = self._packets.rxPacket(self._port, True)
            if result != sdk.COMM_SUCCESS:
                self._count_failure(result)
                if result == sdk.COMM_RX_TIMEOUT:
                    return
                continue  # a corrupt packet: the next one may still be good
            motor_id = packet[4]
            body = dxl.unstuff(bytes(packet[7:-2]))  # INST ERR data...
            error, data = body[1], body[2:]
            if motor_id in expected and len(data) == length:
                expected.discard(motor_id)
                if error & ~dxl.ERR_ALERT:
                    self.counters.status_errors += 1
                    continue
                readings[motor_id] = MotorReading(data, error)
