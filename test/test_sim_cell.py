"""The simulated cell end to end: launch plan -> franky-sim, bus simulator, arm and hand nodes,
driven by `lad sim-demo` (what `make sim` runs), and nothing left running afterwards."""
import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def _loopback_for(embodiment: str) -> str:
    return f"127.{50 + os.getpid() % 150}.{len(embodiment)}.{(os.getpid() // 150) % 250 + 1}"


@pytest.mark.parametrize("embodiment", ["faive", "franka_gripper"])
def test_sim_demo_drives_arm_and_hand(embodiment):
    robot_ip = _loopback_for(embodiment)
    result = subprocess.run([sys.executable, "-m", "lad_ros.cli", "sim-demo", "--embodiment",
                             embodiment, "--robot-ip", robot_ip],
                            capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    summary = re.search(r"sim-demo embodiment=(\S+) hand_err=(\S+) arm_err_mm=(\S+) "
                        r"hand_reach=(\S+) arm_reach=(\S+)", output)
    assert summary, output[-3000:]
    assert result.returncode == 0, output[-3000:]
    assert float(summary[2]) < 0.05 and float(summary[3]) < 25.0
    assert float(summary[4]) > 0.8 and float(summary[5]) > 0.8
    leftovers = subprocess.run(["pgrep", "-f", f"--hostname {robot_ip}"], capture_output=True,
                               text=True).stdout.split()
    assert not leftovers, f"franky-sim still running: {leftovers}"
