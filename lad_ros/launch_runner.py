"""Start a launch Plan without `ros2 launch`: the same processes, each prefixed in the output.

Simulators start first and the runner waits for their ready line; then the nodes start. Ctrl-C
(or SIGTERM) stops everything in reverse order: SIGINT, then SIGTERM, then SIGKILL.
"""
from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from lad_ros.launch_plan import Plan


@dataclass
class RunningProcess:
    name: str
    popen: subprocess.Popen
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)


class PlanRunner:
    def __init__(self, plan: Plan, echo: bool = True, env: dict | None = None):
        self.plan = plan.check()
        self.echo = echo
        self.env = dict(os.environ if env is None else env)
        self.env.setdefault("PYTHONUNBUFFERED", "1")
        self.running: list[RunningProcess] = []

    def _spawn(self, name: str, command: list[str], ready_line: str = "") -> RunningProcess:
        popen = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, text=True, env=self.env,
                                 start_new_session=True)
        process = RunningProcess(name, popen)
        if not ready_line:
            process.ready.set()
        threading.Thread(target=self._pump, args=(process, ready_line), daemon=True).start()
        self.running.append(process)
        return process

    def _pump(self, process: RunningProcess, ready_line: str) -> None:
        for line in process.popen.stdout:
            line = line.rstrip("\n")
            process.lines.append(line)
            if ready_line and ready_line in line:
                process.ready.set()
            if self.echo:
                print(f"[{process.name}] {line}", flush=True)

    def start(self, ready_timeout_s: float = 60.0) -> "PlanRunner":
        # Children run in their own sessions (so Ctrl-C reaches them once, from us): make sure
        # they do not outlive this process if it dies of an exception.
        atexit.register(self.stop)
        for spec in self.plan.processes:
            process = self._spawn(spec.name, spec.command(), spec.ready_line)
            deadline = time.monotonic() + ready_timeout_s
            while not process.ready.wait(0.1):
                if process.popen.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{spec.name} did not become ready: "
                                       + "\n".join(process.lines[-20:]))
        for node in self.plan.nodes:
            self._spawn(node.name, node.command())
        return self

    def failed(self) -> list[RunningProcess]:
        return [p for p in self.running if p.popen.poll() not in (None, 0)]

    def stop(self, grace_s: float = 5.0) -> None:
        for process in reversed(self.running):
            for sig, wait_s in ((signal.SIGINT, grace_s), (signal.SIGTERM, 2.0),
                                (signal.SIGKILL, 2.0)):
                if process.popen.poll() is not None:
                    break
                try:
                    os.killpg(process.popen.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    process.popen.wait(wait_s)
                except subprocess.TimeoutExpired:
                    continue
        self.running.clear()

    def __enter__(self) -> "PlanRunner":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def run_until_interrupted(plan: Plan, duration_s: float | None = None) -> int:
    """Run a plan in the foreground; returns non-zero if a process died on its own."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runner = PlanRunner(plan).start()
    deadline = None if duration_s is None else time.monotonic() + duration_s
    try:
        while not stop.wait(0.2):
            dead = runner.failed()
            if dead:
                print(f"launch runner: {', '.join(p.name for p in dead)} exited with an error",
                      file=sys.stderr)
                return 1
            if deadline is not None and time.monotonic() > deadline:
                break
    finally:
        runner.stop()
    return 0
