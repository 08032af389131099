"""`lad bench hand-bus`: Dynamixel bus cycle time (sync write goals + sync read state) against the
bus simulator on a pty at the configured baud rate, per hand, without and with packet loss.

On a pty the wire time is zero, so this measures the host side (SDK + Python + pty + simulator
thread); on a real U2D2 at 3 Mbaud add the bytes' wire time and the motors' return delay.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from lad_ros.drivers import dynamixel_protocol as dxl
from lad_ros.drivers.dynamixel_io import DynamixelBus
from lad_ros.drivers.joint_motor_map import JointMotorMap
from lad_ros.embodiment import load_embodiment
from lad_ros.sim.dynamixel_bus import DynamixelBusSimulator


@dataclass
class Result:
    hand: str
    motors: int
    drop: float
    cycles: int
    mean_ms: float
    p50_ms: float
    p99_ms: float
    incomplete: int


def measure(hand: str, drop: float, seconds: float, latency_timer_ms: float) -> Result:
    config = load_embodiment(hand)
    ids = list(config.driver.params["motor_ids"])
    goals = JointMotorMap.from_embodiment(config).goal_ticks(np.array(config.neutral)).tolist()
    with DynamixelBusSimulator(ids, initial_ticks=goals, drop_probability=drop, seed=1) as sim:
        bus = DynamixelBus(sim.port, config.driver.params["baudrate"], latency_timer_ms)
        bus.open()
        try:
            durations = []
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                started = time.perf_counter()
                bus.sync_write(dxl.GOAL_POSITION, dict(zip(ids, goals)))
                bus.sync_read(ids, dxl.STATE_BLOCK_ADDRESS, dxl.STATE_BLOCK_SIZE)
                durations.append(time.perf_counter() - started)
        finally:
            bus.close()
    ms = np.array(durations) * 1e3
    return Result(hand, len(ids), drop, len(ms), float(ms.mean()), float(np.percentile(ms, 50)),
                  float(np.percentile(ms, 99)), bus.counters.incomplete_reads)


def configure(parser) -> None:
    parser.add_argument("--seconds", type=float, default=3.0, help="per hand and loss rate")
    parser.add_argument("--latency-timer-ms", type=float, default=4.0,
                        help="read timeout budget (a lost packet costs 2x this + 2 ms)")


def run(args) -> int:
    print(f"# hand-bus: sync write + sync read per cycle, pty simulator, "
          f"latency timer {args.latency_timer_ms:g} ms")
    print("| hand | motors | drop | cycles | mean ms | p50 ms | p99 ms | incomplete |")
    print("|---|---|---|---|---|---|---|---|")
    results = [measure(hand, drop, args.seconds, args.latency_timer_ms)
               for hand in ("faive", "mimic") for drop in (0.0, 0.1)]
    for r in results:
        print(f"| {r.hand} | {r.motors} | {r.drop:.0%} | {r.cycles} | {r.mean_ms:.2f} | "
              f"{r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.incomplete} |")
    faive = results[0]
    print(f"hand-bus faive_cycle_ms_p50={faive.p50_ms:.2f} faive_hz={1e3 / faive.mean_ms:.0f}")
    return 0
