"""How smooth is 30 Hz retargeting? The Cartesian pose franky commands every millisecond is
recorded inside franky-sim (its Cartesian control entry point, wrapped in the simulator
process) while the driver follows a noisy teleop stream, and differentiated: peak velocity,
acceleration and jerk per axis. On a real FR3 a jump in commanded acceleration is what trips the
`cartesian_motion_generator_joint_acceleration_discontinuity` reflex; franky-sim has no reflexes,
so this measures the commanded signal itself.

On this shared non-real-time machine the client misses its 1 ms deadlines now and then, which
puts spikes into the commanded signal even without retargeting (the tails vary run to run with
the machine's load). So the assertion is a comparison of medians with a wide margin: the
shipped settings (low dynamics factors, jerk lowest, 30 Hz low-pass) command much gentler
accelerations than franky's defaults (factors 1, 100 Hz) for the same target stream. The
numbers, tails included, are printed (docs/arm.md quotes them).
"""
import dataclasses
import time

import numpy as np
import pytest

from franky_sim_fixture import FrankySim
from lad_ros.drivers.franka_arm import FrankaArm
from lad_ros.drivers.franka_config import DynamicsFactors, load_arm_config
from lad_ros.safety import load_safety_config

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

RECORDING_SIM = """
import sys, numpy as np, franky_sim
from franky_sim.franka_robot_protocol import UDPCommand
from franky_sim.mujoco_simulator import MujocoSimulator
out, host = sys.argv[1], sys.argv[-1]
commands = {}
with MujocoSimulator() as sim:
    sim.add_robot()
    with franky_sim.SimulationServer(sim, hostname_candidates=[host]) as server:
        robot_server = server.robot_servers[0]
        handle = robot_server._handle_udp_command
        def recording(data):
            command = UDPCommand.from_bytes(data)
            if command.message_id > 0 and not command.motion_generation_finished:
                commands[command.message_id] = command.O_T_EE_c[12:15]
            return handle(data)
        robot_server._handle_udp_command = recording
        print("Connect to the server", flush=True)
        try:
            server.run_forever()
        except KeyboardInterrupt:
            pass
        finally:
            ids = sorted(commands)
            np.save(out, np.array([[i, *commands[i]] for i in ids], dtype=float))
"""


def derivatives(record: np.ndarray):
    """Velocity, acceleration, jerk of the commanded position, from runs of consecutive
    1 ms cycles only (a cycle the client missed would read as a spike that is not there)."""
    ids, positions = record[:, 0], record[:, 1:4]
    runs = np.split(np.arange(len(ids)), np.where(np.diff(ids) != 1)[0] + 1)
    out = {"velocity": [], "acceleration": [], "jerk": []}
    for run in runs:
        if len(run) < 4:
            continue
        v = np.diff(positions[run], axis=0) / 1e-3
        a = np.diff(v, axis=0) / 1e-3
        out["velocity"].append(v)
        out["acceleration"].append(a)
        out["jerk"].append(np.diff(a, axis=0) / 1e-3)
    return {k: np.abs(np.concatenate(v)) for k, v in out.items()}, len(runs)


def run_scenario(tmp_path, config, rate_hz=30.0, seconds=4.0, seed=0):
    record = tmp_path / f"commands_{id(config)}.npy"
    sim = FrankySim(launch=RECORDING_SIM, launch_args=(str(record),)).start()
    config = dataclasses.replace(config, control_rate_hz=rate_hz)
    arm = FrankaArm(config, load_safety_config().arm, robot_ip=sim.hostname, realtime="ignore")
    errors = []
    try:
        arm.start()
        deadline = time.monotonic() + 10
        while arm.latest_state() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        start = arm.latest_state().ee
        rng = np.random.default_rng(seed)
        begin = time.monotonic()
        while (elapsed := time.monotonic() - begin) < seconds:
            # a 4 cm circle in y-z every 4 s plus +-2 mm of policy-like noise on each target
            phase = 2 * np.pi * elapsed / 4.0
            target = start.xyz + [0.0, 0.04 * np.sin(phase), 0.04 * (np.cos(phase) - 1.0)]
            arm.set_target(target + rng.uniform(-0.002, 0.002, 3), start.quat)
            errors.append(np.linalg.norm(arm.latest_state().ee.xyz - target))
            time.sleep(1.0 / rate_hz)
        assert not arm.status().error, arm.status().error
    finally:
        arm.close()
        sim.stop()
    record = np.load(record)
    motion, _ = derivatives(record)
    peak_acceleration = motion["acceleration"].max(1)
    return {"acceleration_p99": float(np.percentile(peak_acceleration, 99)),
            "acceleration_p50": float(np.percentile(peak_acceleration, 50)),
            "jerk_p99": float(np.percentile(motion["jerk"].max(1), 99)),
            "velocity_max": float(motion["velocity"].max()),
            "tracking_rms_mm": 1000 * float(np.sqrt(np.mean(np.square(errors[15:])))),
            "commands": len(record)}


def describe(name, config, result):
    d = config.dynamics
    return (f"{name}: factors v/a/j {d.velocity}/{d.acceleration}/{d.jerk}, low-pass "
            f"{config.cutoff_frequency_hz:.0f} Hz: commanded |a| p50 "
            f"{result['acceleration_p50']:.2f} p99 {result['acceleration_p99']:.2f} m/s^2, "
            f"|j| p99 {result['jerk_p99']:.0f} m/s^3, |v| max {result['velocity_max']:.3f} m/s, "
            f"tracking RMS {result['tracking_rms_mm']:.1f} mm ({result['commands']} cycles)")


def test_shipped_dynamics_retarget_more_smoothly_than_franky_defaults(tmp_path):
    shipped = load_arm_config()
    defaults = dataclasses.replace(shipped, dynamics=DynamicsFactors(1.0, 1.0, 1.0),
                                   cutoff_frequency_hz=100.0)
    smooth = run_scenario(tmp_path, shipped)
    print("\n" + describe("shipped", shipped, smooth))
    rough = run_scenario(tmp_path, defaults)
    print(describe("franky defaults", defaults, rough))
    # The tails (p99, max) depend on how often this loaded, non-real-time client misses a
    # 1 ms deadline; the median does not, and separates the two settings about tenfold.
    assert smooth["acceleration_p50"] < 0.5 * rough["acceleration_p50"]
