"""A Dynamixel hand (Faive, mimic, ...) as a HandDriver: one generic driver, configured per hand.

All bus traffic happens on one thread. Each cycle it sync-writes the newest goal positions (when
torque is on) and sync-reads current, velocity and position of every motor, stamping the state
with the time the read was answered. Lost or corrupt packets are retried a bounded number of
times and counted. A status packet with the alert bit means a hardware error: the driver reads
Hardware Error Status, turns torque off on every motor of the hand (a hand half under torque
pulls against its dead tendons) and reports the fault until `reboot()`.

Public methods are called from other threads: `command`, `latest_state` and `health` only
exchange data under a lock; `enable`, `disable` and `reboot` queue a request to the bus thread
and wait (bounded) for it to be done.
"""
from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from lad_ros.drivers import dynamixel_protocol as dxl
from lad_ros.drivers.dynamixel_io import (SDK_LATENCY_TIMER_MS, BusError, DynamixelBus,
                                          ftdi_latency_timer_ms)
from lad_ros.drivers.hand_driver import DriverHealth, HandState
from lad_ros.drivers.joint_motor_map import JointMotorMap

REQUEST_TIMEOUT_S = 3.0
REBOOT_ONLINE_TIMEOUT_S = 2.0
# A motor that has not answered a single sync read for this long is a fault (cable, power):
# the hand cannot be controlled half-blind. Random losses never last this long (retries).
SILENT_MOTOR_FAULT_S = 0.5


@dataclass(frozen=True)
class DynamixelSettings:
    port: str
    baudrate: int
    operating_mode: int
    current_limit_ma: float
    current_unit_ma: float
    return_delay_us: int
    motor_ids: tuple[int, ...]
    latency_timer_ms: float | None  # None: the adapter's own setting (sysfs), else 16 ms
    max_retries: int
    bus_rate_hz: float

    @classmethod
    def from_params(cls, params: dict, **overrides) -> "DynamixelSettings":
        values = dict(port=params["port"], baudrate=params["baudrate"],
                      operating_mode=params["operating_mode"],
                      current_limit_ma=params["current_limit_ma"],
                      current_unit_ma=params.get("current_unit_ma", 1.0),
                      return_delay_us=params.get("return_delay_us", 0),
                      motor_ids=tuple(params["motor_ids"]),
                      latency_timer_ms=params.get("latency_timer_ms"),
                      max_retries=params.get("max_retries", 2),
                      bus_rate_hz=params.get("bus_rate_hz", 100.0))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


class DynamixelHandDriver:
    def __init__(self, config, **overrides):
        """config: an EmbodimentConfig whose driver kind is dynamixel. overrides: any
        DynamixelSettings field (e.g. port=... to point it at another adapter)."""
        self.joint_names = list(config.joint_names)
        self.settings = DynamixelSettings.from_params(config.driver.params, **overrides)
        self.joint_map = JointMotorMap.from_embodiment(config)
        self._ids = list(self.settings.motor_ids)
        self._names_by_id = dict(zip(self._ids, self.joint_names))
        self._bus: DynamixelBus | None = None
        self._lock = threading.Lock()
        self._requests: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._running = False
        self._state: HandState | None = None
        self._goal_ticks: np.ndarray | None = None
        self._torque_on = False
        self._faults: list[str] = []
        self._alerts: list[int] = []          # motors whose last status had the alert bit
        self._faulted_ids: set[int] = set()   # hardware errors already handled
        self._last_answer: dict[int, float] = {}  # motor id -> monotonic time of its last status
        self._ignored_commands = 0
        self._last_cycle_s = 0.0
        self.model_numbers: dict[int, int] = {}

    # --- HandDriver -----------------------------------------------------------------------------
    def connect(self) -> None:
        if self._running:
            return
        s = self.settings
        latency = s.latency_timer_ms or ftdi_latency_timer_ms(s.port) or SDK_LATENCY_TIMER_MS
        bus = DynamixelBus(s.port, s.baudrate, latency, s.max_retries)
        bus.open()
        self._faults, self._faulted_ids, self._last_answer = [], set(), {}
        self._torque_on, self._goal_ticks, self._state = False, None, None
        try:
            self.model_numbers = {i: bus.ping(i) for i in self._ids}
            self._configure(bus)
            self._bus = bus
            self._read_state()
            if self._state is None:
                raise BusError(f"{s.port}: could not read the motors' state")
            self._check_faults()
        except Exception:
            bus.close()
            self._bus = None
            raise
        self._running = True
        self._thread = threading.Thread(target=self._run, name="dynamixel-bus", daemon=True)
        self._thread.start()

    def enable(self) -> None:
        self._request(self._enable_on_bus)

    def disable(self) -> None:
        self._request(self._disable_on_bus)

    def reboot(self) -> None:
        self._request(self._reboot_on_bus, REQUEST_TIMEOUT_S + REBOOT_ONLINE_TIMEOUT_S)

    def close(self) -> None:
        if self._running:
            try:
                self._request(self._disable_on_bus)
            except Exception:  # closing must not fail because the bus already did
                pass
            self._running = False
            self._thread.join(timeout=2.0)
        if self._bus is not None:
            self._bus.close()
            self._bus = None

    def command(self, positions: np.ndarray) -> None:
        positions = np.asarray(positions, dtype=float).reshape(-1)
        if positions.shape != (len(self._ids),) or not np.all(np.isfinite(positions)):
            with self._lock:
                self._ignored_commands += 1
            return
        ticks = self.joint_map.goal_ticks(positions)
        with self._lock:
            if self._torque_on and not self._faults:
                self._goal_ticks = ticks

    def latest_state(self) -> HandState | None:
        with self._lock:
            return self._state

    def health(self) -> DriverHealth:
        with self._lock:
            counters = self._bus.counters.as_dict() if self._bus else {}
            counters["ignored_commands"] = self._ignored_commands
            counters["cycle_time_us"] = int(self._last_cycle_s * 1e6)
            return DriverHealth(connected=self._running, torque_enabled=self._torque_on,
                                faults=list(self._faults), counters=counters)

    # --- requests to the bus thread -----------------------------------------------------------
    def _request(self, action, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        if not self._running:
            raise BusError(f"{self.settings.port}: not connected")
        done: Future = Future()
        self._requests.put((action, done))
        done.result(timeout=timeout_s)  # re-raises what the bus thread raised

    def _serve_requests(self) -> None:
        while True:
            try:
                action, done = self._requests.get_nowait()
            except queue.Empty:
                return
            try:
                action()
                done.set_result(None)
            except Exception as error:
                done.set_exception(error)

    # --- bus thread -------------------------------------------------------------------------------
    def _run(self) -> None:
        period = 1.0 / self.settings.bus_rate_hz
        next_cycle = time.monotonic()
        while self._running:
            started = time.monotonic()
            self._serve_requests()
            try:
                with self._lock:
                    goal = self._goal_ticks if self._torque_on else None
                if goal is not None:
                    self._bus.sync_write(dxl.GOAL_POSITION, dict(zip(self._ids, goal.tolist())))
                self._read_state()
                self._check_faults()
                self._check_silent_motors()
            except Exception as error:  # noqa: BLE001 - an unplugged adapter raises OSError
                self._add_fault(f"bus: {error}")
            self._last_cycle_s = time.monotonic() - started
            next_cycle += period
            delay = next_cycle - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                next_cycle = time.monotonic()  # overran: do not try to catch up
        self._serve_requests()

    def _configure(self, bus: DynamixelBus) -> None:
        """Torque off, then settings; EEPROM fields are written only when they differ."""
        s = self.settings
        limit_units = int(round(s.current_limit_ma / s.current_unit_ma))
        eeprom = [(dxl.RETURN_DELAY_TIME, s.return_delay_us // 2),
                  (dxl.OPERATING_MODE, s.operating_mode),
                  (dxl.CURRENT_LIMIT, limit_units)]
        for motor_id in self._ids:
            bus.write(motor_id, dxl.TORQUE_ENABLE, 0)
            bus.write(motor_id, dxl.STATUS_RETURN_LEVEL, 2)
            for field_, value in eeprom:
                if bus.read(motor_id, field_) != value:
                    bus.write(motor_id, field_, value)
            bus.write(motor_id, dxl.GOAL_CURRENT, limit_units)

    def _read_state(self) -> None:
        readings = self._bus.sync_read(self._ids, dxl.STATE_BLOCK_ADDRESS, dxl.STATE_BLOCK_SIZE)
        stamp_ns, answered = time.time_ns(), time.monotonic()
        self._last_answer.update({i: answered for i in readings})
        self._alerts = [i for i, r in readings.items() if r.error & dxl.ERR_ALERT]
        if len(readings) != len(self._ids):
            return  # keep the previous state (and its older stamp); counted by the bus
        offset = dxl.STATE_BLOCK_ADDRESS
        current = np.array([dxl.PRESENT_CURRENT.decode(readings[i].data,
                                                       dxl.PRESENT_CURRENT.address - offset)
                            for i in self._ids], float)
        velocity = np.array([dxl.PRESENT_VELOCITY.decode(readings[i].data,
                                                         dxl.PRESENT_VELOCITY.address - offset)
                             for i in self._ids], float)
        position = np.array([dxl.PRESENT_POSITION.decode(readings[i].data,
                                                         dxl.PRESENT_POSITION.address - offset)
                             for i in self._ids], float)
        state = HandState(stamp_ns=stamp_ns, position=self.joint_map.joint_from_ticks(position),
                          velocity=self.joint_map.joint_velocity(velocity),
                          # effort carries motor current in amperes, not a joint torque
                          effort=current * self.settings.current_unit_ma / 1000.0)
        with self._lock:
            self._state = state

    def _check_silent_motors(self) -> None:
        now = time.monotonic()
        silent = [i for i in self._ids
                  if now - self._last_answer.get(i, now) > SILENT_MOTOR_FAULT_S
                  and i not in self._faulted_ids]
        if not silent:
            return
        self._faulted_ids.update(silent)
        for motor_id in silent:
            self._add_fault(f"motor {motor_id} ({self._names_by_id[motor_id]}): not answering "
                            f"for {SILENT_MOTOR_FAULT_S} s")
        self._torque_off_all()

    def _check_faults(self) -> None:
        new = [i for i in self._alerts if i not in self._faulted_ids]
        if not new:
            return
        self._faulted_ids.update(new)
        for motor_id in new:
            try:
                status = self._bus.read(motor_id, dxl.HARDWARE_ERROR_STATUS)
            except BusError:
                status = -1
            text = dxl.describe_hardware_error(status) if status >= 0 else "unreadable"
            self._add_fault(f"motor {motor_id} ({self._names_by_id[motor_id]}): hardware "
                            f"error: {text}")
        self._torque_off_all()

    def _add_fault(self, fault: str) -> None:
        with self._lock:
            if fault not in self._faults:
                self._faults.append(fault)
            self._goal_ticks = None

    def _torque_off_all(self) -> None:
        for motor_id in self._ids:
            try:
                self._bus.write(motor_id, dxl.TORQUE_ENABLE, 0)
            except BusError:
                pass  # a faulted motor has turned itself off already
        with self._lock:
            self._torque_on = False
            self._goal_ticks = None

    def _enable_on_bus(self) -> None:
        with self._lock:
            if self._faults:
                raise BusError(f"{self.settings.port}: faults present, reboot first: "
                               f"{'; '.join(self._faults)}")
        self._read_state()
        state = self.latest_state()
        present = self.joint_map.goal_ticks(state.position)  # hold where the hand is (in range)
        try:
            for motor_id, goal in zip(self._ids, present.tolist()):
                self._bus.write(motor_id, dxl.GOAL_POSITION, goal)
                self._bus.write(motor_id, dxl.TORQUE_ENABLE, 1)
        except BusError:
            self._torque_off_all()  # all or nothing: never half a hand under torque
            raise
        with self._lock:
            self._goal_ticks = present
            self._torque_on = True

    def _disable_on_bus(self) -> None:
        self._torque_off_all()

    def _reboot_on_bus(self) -> None:
        self._torque_off_all()
        for motor_id in self._ids:
            try:
                status = self._bus.read(motor_id, dxl.HARDWARE_ERROR_STATUS)
            except BusError:
                status = -1  # not answering: reboot it too
            if status != 0:
                self._bus.reboot(motor_id)
        deadline = time.monotonic() + REBOOT_ONLINE_TIMEOUT_S
        for motor_id in self._ids:
            while True:
                try:
                    self._bus.ping(motor_id)
                    break
                except BusError:
                    if time.monotonic() > deadline:
                        raise
        self._configure(self._bus)
        with self._lock:
            self._faults.clear()
        self._faulted_ids.clear()
        self._last_answer.clear()
        self._read_state()
        self._check_faults()
