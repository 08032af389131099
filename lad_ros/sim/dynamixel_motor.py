"""One simulated X-series Dynamixel: its control table and a first-order position response.

The motor follows Goal Position with a first-order lag while torque is on. Present Current
grows with the tracking error up to Goal Current; a blocked motor (fault injection) does not
move, so its current saturates, and after `overload_after_s` at the limit it raises the
overload bit and turns its torque off, as a real motor with the default Shutdown mask does.
"""
from __future__ import annotations

import math

from lad_ros.drivers import dynamixel_protocol as dxl

XC330_M288_MODEL = 1300  # model number this simulator reports on ping


class SimMotor:
    def __init__(self, motor_id: int, position_ticks: int = 0, model_number: int = XC330_M288_MODEL,
                 time_constant_s: float = 0.04, overload_after_s: float = 0.3):
        self.motor_id = motor_id
        self.model_number = model_number
        self.time_constant_s = time_constant_s
        self.overload_after_s = overload_after_s
        self.position = float(position_ticks)
        self.velocity = 0.0   # ticks/s
        self.current = 0.0    # mA
        self.blocked = False
        self.unplugged = False
        self._saturated_s = 0.0
        self.rebooting_until = 0.0
        self.goal_extremes: tuple[int, int] | None = None  # every Goal Position ever accepted
        self.table = bytearray(dxl.CONTROL_TABLE_SIZE)
        self.power_on()

    # --- control table -------------------------------------------------------------------
    def get(self, field: dxl.Field) -> int:
        return field.decode(self.table, field.address)

    def set(self, field: dxl.Field, value: int) -> None:
        self.table[field.address:field.address + field.size] = field.encode(value)

    def power_on(self) -> None:
        """RAM back to defaults (EEPROM kept), as after a reboot or power cycle."""
        eeprom = bytes(self.table[:dxl.EEPROM_END])
        self.table[:] = bytes(dxl.CONTROL_TABLE_SIZE)
        if any(eeprom):
            self.table[:dxl.EEPROM_END] = eeprom
        else:
            self.set(dxl.MODEL_NUMBER, self.model_number)
            self.set(dxl.FIRMWARE_VERSION, 52)
            self.set(dxl.ID, self.motor_id)
            self.set(dxl.BAUD_RATE, 1)
            self.set(dxl.RETURN_DELAY_TIME, 250)
            self.set(dxl.OPERATING_MODE, 3)
            self.set(dxl.CURRENT_LIMIT, 1750)
            self.set(dxl.MAX_POSITION_LIMIT, 4095)
            self.set(dxl.MIN_POSITION_LIMIT, 0)
            self.set(dxl.SHUTDOWN, 0x34)  # overload, electrical shock, overheating
        self.set(dxl.STATUS_RETURN_LEVEL, 2)
        self.set(dxl.GOAL_CURRENT, self.get(dxl.CURRENT_LIMIT))
        self.set(dxl.GOAL_POSITION, int(round(self.position)))
        self.velocity = self.current = self._saturated_s = 0.0
        self._publish_present()

    @property
    def torque_on(self) -> bool:
        return bool(self.get(dxl.TORQUE_ENABLE))

    @property
    def hardware_error(self) -> int:
        return self.get(dxl.HARDWARE_ERROR_STATUS)

    def raise_hardware_error(self, bits: int) -> None:
        self.set(dxl.HARDWARE_ERROR_STATUS, self.hardware_error | bits)
        if bits & self.get(dxl.SHUTDOWN):
            self.set(dxl.TORQUE_ENABLE, 0)

    def write(self, address: int, data: bytes) -> int:
        """Apply a write; returns the status ERR number (0 = accepted)."""
        end = address + len(data)
        if end > dxl.CONTROL_TABLE_SIZE or not data:
            return dxl.ERR_DATA_LENGTH
        if address < dxl.EEPROM_END and self.torque_on:
            return dxl.ERR_ACCESS
        read_only = (dxl.MODEL_NUMBER, dxl.FIRMWARE_VERSION, dxl.HARDWARE_ERROR_STATUS,
                     dxl.PRESENT_CURRENT, dxl.PRESENT_VELOCITY, dxl.PRESENT_POSITION)
        if any(address < f.address + f.size and f.address < end for f in read_only):
            return dxl.ERR_ACCESS
        candidate = bytearray(self.table)
        candidate[address:end] = data
        if _overlaps(address, end, dxl.TORQUE_ENABLE):
            value = dxl.TORQUE_ENABLE.decode(candidate, dxl.TORQUE_ENABLE.address)
            if value not in (0, 1):
                return dxl.ERR_DATA_RANGE
            if value == 1 and self.hardware_error:
                return dxl.ERR_RESULT_FAIL  # a faulted motor refuses torque until rebooted
        if _overlaps(address, end, dxl.GOAL_POSITION):
            goal = dxl.GOAL_POSITION.decode(candidate, dxl.GOAL_POSITION.address)
            low, high = self._goal_range(candidate)
            if not low <= goal <= high:
                return dxl.ERR_DATA_RANGE
        self.table[:] = candidate
        if _overlaps(address, end, dxl.GOAL_POSITION):
            goal = self.get(dxl.GOAL_POSITION)
            low, high = self.goal_extremes or (goal, goal)
            self.goal_extremes = (min(low, goal), max(high, goal))
        return 0

    def _goal_range(self, table: bytes) -> tuple[int, int]:
        if dxl.OPERATING_MODE.decode(table, dxl.OPERATING_MODE.address) in (4, 5):
            return dxl.MULTI_TURN_RANGE
        return (dxl.MIN_POSITION_LIMIT.decode(table, dxl.MIN_POSITION_LIMIT.address),
                dxl.MAX_POSITION_LIMIT.decode(table, dxl.MAX_POSITION_LIMIT.address))

    def read(self, address: int, length: int) -> bytes | None:
        if length <= 0 or address + length > dxl.CONTROL_TABLE_SIZE:
            return None
        return bytes(self.table[address:address + length])

    # --- physics ----------------------------------------------------------------------------
    def step(self, dt: float) -> None:
        if dt <= 0.0:
            return
        limit = float(min(abs(self.get(dxl.GOAL_CURRENT)), self.get(dxl.CURRENT_LIMIT)))
        if self.torque_on:
            error = self.get(dxl.GOAL_POSITION) - self.position
            if self.blocked:
                self.velocity = 0.0
                self.current = math.copysign(limit, error) if error else limit
            else:
                moved = error * (1.0 - math.exp(-dt / self.time_constant_s))
                self.position += moved
                self.velocity = moved / dt
                # current proportional to the remaining error: the limit at a quarter turn
                self.current = max(-limit, min(limit, limit * (error - moved) / 1024.0))
            self._saturated_s = self._saturated_s + dt if abs(self.current) >= 0.95 * limit \
                and limit > 0 else 0.0
            if self._saturated_s >= self.overload_after_s:
                self.raise_hardware_error(1 << dxl.OVERLOAD_BIT)
        else:
            self.velocity = self.current = self._saturated_s = 0.0
        self._publish_present()

    def _publish_present(self) -> None:
        self.set(dxl.PRESENT_POSITION, int(round(self.position)))
        units_per_tick_s = 60.0 / (dxl.TICKS_PER_REV * dxl.VELOCITY_UNIT_RPM)
        self.set(dxl.PRESENT_VELOCITY, int(round(self.velocity * units_per_tick_s)))
        self.set(dxl.PRESENT_CURRENT, int(round(self.current)))


def _overlaps(start: int, end: int, field: dxl.Field) -> bool:
    return start < field.address + field.size and field.address < end
