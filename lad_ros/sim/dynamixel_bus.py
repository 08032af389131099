"""A Dynamixel protocol-2.0 bus on a pseudo-terminal: what a U2D2 with motors looks like to a host.

The simulator opens a pty pair and serves the slave path (e.g. /dev/pts/5); a driver opens that
path like any serial port. One thread parses instruction packets (CRC, byte stuffing), answers
with status packets and steps the motors (lad_ros.sim.dynamixel_motor).

Supported: ping (unicast and broadcast), read, write, sync read, sync write, reboot, and the
control-table subset the hand driver uses. Fault injection, all changeable while running:
- drop_probability: each packet on the wire (instruction or status) is lost with this chance;
- corrupt_probability: each status packet gets a wrong CRC with this chance;
- inject_hardware_error(id, bits) / block(id): a hardware error right now, or a motor that is
  blocked and overloads after a while (both turn its torque off, as real motors do);
- unplug(id): the motor stops answering (and hears nothing) until plugged in again.

Standalone, for manual tests with any Dynamixel tool:
    python -m lad_ros.sim.dynamixel_bus --motors 11
"""
from __future__ import annotations

import argparse
import os
import random
import select
import signal
import struct
import threading
import time
import tty
from dataclasses import dataclass

from lad_ros.drivers import dynamixel_protocol as dxl
from lad_ros.sim.dynamixel_motor import SimMotor

REBOOT_TIME_S = 0.05


@dataclass
class BusCounters:
    instructions: int = 0
    statuses: int = 0
    dropped: int = 0
    corrupted: int = 0
    bad_crc_received: int = 0


class DynamixelBusSimulator:
    def __init__(self, motor_ids, initial_ticks=None, drop_probability: float = 0.0,
                 corrupt_probability: float = 0.0, seed: int | None = None,
                 time_constant_s: float = 0.04, overload_after_s: float = 0.3):
        ticks = list(initial_ticks) if initial_ticks is not None else [0] * len(motor_ids)
        self.motors = {i: SimMotor(i, t, time_constant_s=time_constant_s,
                                   overload_after_s=overload_after_s)
                       for i, t in zip(motor_ids, ticks)}
        self.drop_probability = drop_probability
        self.corrupt_probability = corrupt_probability
        self.counters = BusCounters()
        self._random = random.Random(seed)
        self._lock = threading.RLock()  # motors are touched by the bus thread and by tests
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo / line discipline before the driver opens it
        self.port = os.ttyname(self._slave)
        self._parser = dxl.PacketParser()
        self._running = False
        self._thread: threading.Thread | None = None
        self._last_step = time.monotonic()

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> "DynamixelBusSimulator":
        self._running = True
        self._thread = threading.Thread(target=self._serve, name="dynamixel-bus-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *_):
        self.stop()

    # --- fault injection and inspection (thread-safe) ---------------------------------------
    def inject_hardware_error(self, motor_id: int, bits: int = 1 << dxl.OVERLOAD_BIT) -> None:
        with self._lock:
            self.motors[motor_id].raise_hardware_error(bits)

    def unplug(self, motor_id: int, unplugged: bool = True) -> None:
        """The motor stops answering anything (a loose cable), or comes back."""
        with self._lock:
            self.motors[motor_id].unplugged = unplugged

    def block(self, motor_id: int, blocked: bool = True) -> None:
        with self._lock:
            self.motors[motor_id].blocked = blocked

    def read_field(self, motor_id: int, field_: dxl.Field) -> int:
        with self._lock:
            return self.motors[motor_id].get(field_)

    def goal_extremes(self, motor_id: int) -> tuple[int, int] | None:
        """Lowest and highest Goal Position this motor ever accepted (None: never written)."""
        with self._lock:
            return self.motors[motor_id].goal_extremes

    def positions(self) -> dict[int, float]:
        with self._lock:
            return {i: m.position for i, m in self.motors.items()}

    # --- the bus thread ---------------------------------------------------------------------
    def _serve(self) -> None:
        while self._running:
            try:
                readable, _, _ = select.select([self._master], [], [], 0.002)
                data = os.read(self._master, 4096) if readable else b""
            except OSError:
                return
            with self._lock:
                self._step_motors()
                for packet in self._parser.feed(data):
                    self._handle(packet)

    def _step_motors(self) -> None:
        now = time.monotonic()
        dt, self._last_step = now - self._last_step, now
        for motor in self.motors.values():
            motor.step(dt)

    def _lost(self) -> bool:
        if self.drop_probability > 0.0 and self._random.random() < self.drop_probability:
            self.counters.dropped += 1
            return True
        return False

    def _send(self, motor_id: int, error: int, params: bytes = b"") -> None:
        motor = self.motors[motor_id]
        if motor.hardware_error:
            error |= dxl.ERR_ALERT
        if self._lost():
            return
        packet = bytearray(dxl.status_packet(motor_id, error, params))
        if self.corrupt_probability > 0.0 and self._random.random() < self.corrupt_probability:
            packet[-1] ^= 0x5A
            self.counters.corrupted += 1
        self.counters.statuses += 1
        try:
            os.write(self._master, bytes(packet))
        except OSError:
            pass

    def _online(self, motor_id: int) -> SimMotor | None:
        motor = self.motors.get(motor_id)
        if motor is None or motor.unplugged or time.monotonic() < motor.rebooting_until:
            return None
        return motor

    def _answers(self, motor: SimMotor, instruction: int) -> bool:
        level = motor.get(dxl.STATUS_RETURN_LEVEL)
        return instruction == dxl.PING or level >= 2 or (level == 1 and instruction == dxl.READ)

    def _handle(self, packet: dxl.Packet) -> None:
        self.counters.instructions += 1
        if self._lost():
            return
        if not packet.crc_ok:
            self.counters.bad_crc_received += 1
            if self._online(packet.device_id):
                self._send(packet.device_id, dxl.ERR_CRC)
            return
        handler = {dxl.PING: self._ping, dxl.READ: self._read, dxl.WRITE: self._write,
                   dxl.SYNC_READ: self._sync_read, dxl.SYNC_WRITE: self._sync_write,
                   dxl.REBOOT: self._reboot}.get(packet.instruction)
        if handler is None:
            if self._online(packet.device_id):
                self._send(packet.device_id, dxl.ERR_INSTRUCTION)
            return
        handler(packet)

    def _targets(self, device_id: int) -> list[SimMotor]:
        if device_id == dxl.BROADCAST_ID:
            return [m for i in sorted(self.motors) if (m := self._online(i))]
        motor = self._online(device_id)
        return [motor] if motor else []

    def _ping(self, packet: dxl.Packet) -> None:
        for motor in self._targets(packet.device_id):
            self._send(motor.motor_id, 0, struct.pack("<HB", motor.get(dxl.MODEL_NUMBER),
                                                      motor.get(dxl.FIRMWARE_VERSION)))

    def _read(self, packet: dxl.Packet) -> None:
        motor = self._online(packet.device_id)
        if motor is None:
            return
        if len(packet.params) != 4:
            self._send(motor.motor_id, dxl.ERR_DATA_LENGTH)
            return
        address, length = struct.unpack("<HH", packet.params)
        data = motor.read(address, length)
        self._send(motor.motor_id, 0 if data is not None else dxl.ERR_ACCESS, data or b"")

    def _write(self, packet: dxl.Packet) -> None:
        motor = self._online(packet.device_id)
        if packet.device_id == dxl.BROADCAST_ID:
            for target in self._targets(packet.device_id):
                target.write(struct.unpack("<H", packet.params[:2])[0], packet.params[2:])
            return
        if motor is None:
            return
        if len(packet.params) < 3:
            self._send(motor.motor_id, dxl.ERR_DATA_LENGTH)
            return
        error = motor.write(struct.unpack("<H", packet.params[:2])[0], packet.params[2:])
        if self._answers(motor, dxl.WRITE):
            self._send(motor.motor_id, error)

    def _sync_read(self, packet: dxl.Packet) -> None:
        if packet.device_id != dxl.BROADCAST_ID or len(packet.params) < 5:
            return
        address, length = struct.unpack("<HH", packet.params[:4])
        for motor_id in packet.params[4:]:  # answers come in the order the ids were listed
            motor = self._online(motor_id)
            if motor is not None:
                data = motor.read(address, length)
                self._send(motor_id, 0 if data is not None else dxl.ERR_ACCESS, data or b"")

    def _sync_write(self, packet: dxl.Packet) -> None:
        if packet.device_id != dxl.BROADCAST_ID or len(packet.params) < 4:
            return
        address, length = struct.unpack("<HH", packet.params[:4])
        body = packet.params[4:]
        stride = 1 + length
        for offset in range(0, len(body) - stride + 1, stride):
            motor = self._online(body[offset])
            if motor is not None:
                motor.write(address, body[offset + 1:offset + stride])

    def _reboot(self, packet: dxl.Packet) -> None:
        for motor in self._targets(packet.device_id):
            if packet.device_id != dxl.BROADCAST_ID:
                self._send(motor.motor_id, 0)
            motor.power_on()
            motor.blocked = False
            motor.rebooting_until = time.monotonic() + REBOOT_TIME_S


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--motors", type=int, default=11, help="motor ids 1..N")
    parser.add_argument("--drop", type=float, default=0.0, help="packet drop probability")
    parser.add_argument("--corrupt", type=float, default=0.0, help="CRC corruption probability")
    parser.add_argument("--link", default="",
                        help="also expose the port as this symlink (a stable path for configs)")
    args = parser.parse_args(argv)
    simulator = DynamixelBusSimulator(range(1, args.motors + 1), drop_probability=args.drop,
                                      corrupt_probability=args.corrupt).start()
    if args.link:
        if os.path.islink(args.link):
            os.unlink(args.link)
        os.makedirs(os.path.dirname(os.path.abspath(args.link)), exist_ok=True)
        os.symlink(simulator.port, args.link)
    print(f"Dynamixel bus simulator: {args.motors} motors on {simulator.port} "
          f"(use it as the port; Ctrl-C to stop)", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored
        signal.signal(sig, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        simulator.stop()
        if args.link and os.path.islink(args.link):
            os.unlink(args.link)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
