"""The interface every end-effector driver offers the hand node (Dynamixel hands, Franka gripper).

The hand node (a lifecycle node) only talks to this interface, so swapping the end-effector is
deactivating one driver and activating another. Commands reaching a driver have already passed
lad_ros.safety; a driver must still never block its caller for long: bus I/O lives on the
driver's own thread, `command` only hands the newest target over.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class HandState:
    """Measured state (never the command), stamped with the time it was read."""
    stamp_ns: int
    position: np.ndarray
    velocity: np.ndarray | None = None
    effort: np.ndarray | None = None


@dataclass
class DriverHealth:
    connected: bool = False
    torque_enabled: bool = False
    faults: list[str] = field(default_factory=list)   # hardware errors: torque is off
    counters: dict[str, int] = field(default_factory=dict)  # timeouts, CRC errors, retries, ...


class HandDriver(Protocol):
    joint_names: list[str]

    def connect(self) -> None:
        """Open the device and configure it (no motion). Raises on failure."""

    def enable(self) -> None:
        """Torque on, holding the current measured position."""

    def disable(self) -> None:
        """Torque off (or stop motion for a gripper)."""

    def close(self) -> None:
        """Release the device; safe to call twice."""

    def command(self, positions: np.ndarray) -> None:
        """Newest safe target in joint units (radians, or normalized width); returns at once."""

    def latest_state(self) -> HandState | None:
        """The newest measured state, without waiting for the device."""

    def health(self) -> DriverHealth:
        ...

    def reboot(self) -> None:
        """Clear hardware errors (e.g. Dynamixel reboot); torque stays off until enable()."""
