"""Franka Hand gripper on franky.Gripper, as a HandDriver with one normalized width joint.

Position 0 is closed, 1 is open (= the embodiment's max_width_m). `command()` only stores the
newest target; a worker thread does all gripper I/O: it reads the width periodically (on a real
Franka Hand each read blocks ~0.1 s), and starts a motion towards the newest target whenever
none is in flight: `move_async` to open or to a width, `grasp_async` (force-controlled, any
object counts as grasped) below `grasp_below`. Targets that arrive during a motion are not lost:
the newest one is executed as soon as the current motion ends (intermediate ones are skipped).

Why a motion is not preempted: franky serializes gripper commands, and a move interrupted by
`stop()` is never answered by franky-sim, so the next command would block forever. A gripper
stroke takes at most ~1.6 s at 0.05 m/s, which bounds the extra latency.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np

from lad_ros.config import EmbodimentConfig
from lad_ros.drivers.franka_config import GripperConfig, load_gripper_config
from lad_ros.drivers.hand_driver import DriverHealth, HandState


class FrankaGripperDriver:
    """HandDriver for the Franka Hand.

    robot_ip: None = the `gripper:` section of cell.yaml (`cell_config`, None = shipped file).
    `realtime` is accepted for a uniform driver factory; franky.Gripper has no real-time control
    loop, so it is not used.
    """

    def __init__(self, config: EmbodimentConfig, robot_ip: str | None = None,
                 realtime: str = "ignore", *, cell_config: str | None = None,
                 settings: GripperConfig | None = None,
                 clock_ns: Callable[[], int] = time.time_ns):
        if config.max_width_m is None or config.driver is None:
            raise ValueError(f"{config.name}: not a parallel gripper with a driver section")
        self.config = config
        self.joint_names = list(config.joint_names)
        self.settings = settings or load_gripper_config(cell_config)
        self.robot_ip = robot_ip or self.settings.robot_ip
        self.realtime = realtime
        self.clock_ns = clock_ns
        self.max_width_m = float(config.max_width_m)
        self.speed_mps = float(config.driver.params["speed_mps"])
        self.force_n = float(config.driver.params["force_n"])
        self._gripper = None
        self._lock = threading.Lock()
        self._target: float | None = None
        self._enabled = False
        self._state: HandState | None = None
        self._faults: list[str] = []
        self._counters = {"motions": 0, "grasps": 0, "failed_motions": 0, "width_reads": 0,
                          "read_errors": 0}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- HandDriver ---------------------------------------------------------------------------
    def connect(self) -> None:
        import franky
        self._gripper = franky.Gripper(self.robot_ip)
        self._faults = []
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="franka_gripper",
                                            daemon=True)
            self._thread.start()

    def enable(self) -> None:
        with self._lock:
            self._target, self._enabled = None, True

    def disable(self) -> None:
        with self._lock:
            self._target, self._enabled = None, False

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self._gripper = None

    def command(self, positions) -> None:
        value = float(np.asarray(positions, dtype=float).reshape(-1)[0])
        if not np.isfinite(value):
            return   # commands were made safe upstream; never hand a NaN to the gripper
        with self._lock:
            if self._enabled:
                self._target = min(max(value, 0.0), 1.0)

    def latest_state(self) -> HandState | None:
        return self._state

    def health(self) -> DriverHealth:
        return DriverHealth(connected=self._gripper is not None and not self._faults,
                            torque_enabled=self._enabled, faults=list(self._faults),
                            counters=dict(self._counters))

    def reboot(self) -> None:
        """Clear faults by connecting again (there is no gripper reboot in libfranka)."""
        with self._lock:
            self._enabled, self._target = False, None
        self._gripper = None
        self.connect()

    # ---- worker -------------------------------------------------------------------------------
    def _run(self) -> None:
        period_s = 1.0 / self.settings.width_poll_hz
        in_flight, current = None, None
        commanded: float | None = None
        while not self._stop.is_set():
            started = time.monotonic()
            gripper = self._gripper
            if gripper is not current:   # reconnected: a motion of the old connection is gone
                in_flight, commanded, current = None, None, gripper
            if gripper is not None and not self._faults:
                self._read_width(gripper)
                try:
                    if in_flight is not None and in_flight.wait(0.0):
                        if not in_flight.get():
                            self._counters["failed_motions"] += 1
                        in_flight = None
                    if in_flight is None:
                        in_flight, commanded = self._start_motion(gripper, commanded)
                except Exception as error:  # noqa: BLE001 - any gripper failure is a fault
                    self._faults.append(f"{type(error).__name__}: {error}")
                    in_flight, commanded = None, None
            else:
                in_flight, commanded = None, None
            self._stop.wait(max(0.0, period_s - (time.monotonic() - started)))

    def _read_width(self, gripper) -> None:
        before = self.clock_ns()
        try:
            width = float(gripper.width)
        except Exception as error:  # noqa: BLE001
            self._counters["read_errors"] += 1
            self._faults.append(f"width read: {type(error).__name__}: {error}")
            return
        stamp = (before + self.clock_ns()) // 2   # the read blocks: stamp its middle
        self._counters["width_reads"] += 1
        self._state = HandState(stamp, np.array([width / self.max_width_m]))

    def _start_motion(self, gripper, commanded: float | None):
        with self._lock:
            target = self._target if self._enabled else None
        if target is None or (commanded is not None
                              and abs(target - commanded) <= self.settings.command_deadband):
            return None, commanded
        self._counters["motions"] += 1
        if target < self.settings.grasp_below:
            self._counters["grasps"] += 1
            future = gripper.grasp_async(0.0, self.speed_mps, self.force_n, 0.0,
                                         self.max_width_m)
        else:
            future = gripper.move_async(target * self.max_width_m, self.speed_mps)
        return future, target
