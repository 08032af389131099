"""franky-sim (a MuJoCo FR3 + Franka Hand speaking the libfranka protocol) as a test peer.

franky-sim binds the fixed libfranka ports (1337 arm, 1338 gripper) on a loopback address, so
each test process isolates its simulator by its own 127.x.y.z address (derived from the pid).
`FrankySim` starts it as a subprocess, waits until it has bound its ports, and can be killed
(SIGKILL, as a crash or a pulled cable) and started again on the same address. It is always
cleaned up: by the fixture, and at interpreter exit as a last resort.
"""
from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

_READY_LINE = "Connect to the server"
_LAUNCH = ("import sys; from franky_sim import run_server_main; "
           "sys.argv[0] = 'franky-sim'; run_server_main()")
_counter = iter(range(1, 250))
_running: set["FrankySim"] = set()


def unique_loopback_address() -> str:
    """127.x.y.z owned by this process (the simulator's default addresses start at 127.0.0.1)."""
    pid = os.getpid()
    return f"127.{100 + pid % 150}.{(pid // 150) % 256}.{next(_counter)}"


class FrankySim:
    def __init__(self, hostname: str | None = None, launch: str = _LAUNCH,
                 launch_args: tuple[str, ...] = ()):
        """launch: Python code run with `-c` (argv: launch_args, then -s mujoco --hostname H);
        it must print a line containing "Connect to the server" once it accepts clients."""
        self.hostname = hostname or unique_loopback_address()
        self.launch, self.launch_args = launch, tuple(launch_args)
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []
        self.startup_s: float | None = None

    def start(self, timeout_s: float = 60.0) -> "FrankySim":
        ready = threading.Event()
        started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-c", self.launch, *self.launch_args, "-s", "mujoco",
             "--hostname", self.hostname],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        _running.add(self)

        def read(stream=self.process.stdout):
            for line in stream:
                self.output.append(line.rstrip())
                if _READY_LINE in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        while not ready.wait(0.05):
            if self.process.poll() is not None:
                raise RuntimeError(f"franky-sim exited ({self.process.returncode}):\n"
                                   + "\n".join(self.output[-20:]))
            if time.monotonic() - started > timeout_s:
                self.stop()
                raise TimeoutError(f"franky-sim did not start within {timeout_s} s")
        self.startup_s = time.monotonic() - started
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the robot vanishes without closing its sockets."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGINT)

    def _signal(self, sig: int) -> None:
        process = self.process
        if process is None:
            return
        if process.poll() is None:
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            except ProcessLookupError:
                pass
        self.process = None
        _running.discard(self)


@atexit.register
def _kill_leftovers() -> None:
    for sim in list(_running):
        sim.kill()


@pytest.fixture
def franky_sim():
    """A fresh franky-sim (FR3 at its default pose, gripper at 4 cm) for one test."""
    sim = FrankySim().start()
    try:
        yield sim
    finally:
        sim.kill()
