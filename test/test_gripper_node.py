"""The Franka gripper through the hand lifecycle node (real rclpy) against franky-sim's Franka
Hand: configure + activate, then a teleop width command opens and closes it, and the measured
width (not the command) comes back on /lad/hand/joint_states."""
import shutil
import time

import pytest
import yaml

from franky_sim_fixture import franky_sim  # noqa: F401 - fixture
from lad_ros.embodiment import share_dir
from test_hand_node import Harness

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def share_with_sim_gripper(tmp_path, monkeypatch, franky_sim):  # noqa: F811
    """The hand node takes the gripper address from cell.yaml: point a copy at franky-sim."""
    config = tmp_path / "config"
    shutil.copytree(share_dir() / "config", config)
    cell = yaml.safe_load((config / "cell.yaml").read_text())
    cell["gripper"]["robot_ip"] = franky_sim.hostname
    (config / "cell.yaml").write_text(yaml.safe_dump(cell))
    monkeypatch.setenv("LAD_ROS_SHARE", str(tmp_path))
    return franky_sim


def test_gripper_opens_and_closes_through_the_hand_node(ros_context, share_with_sim_gripper):
    from lifecycle_msgs.msg import Transition

    from lad_ros.nodes.ros_common import joint_state

    harness = Harness(ros_context, "franka_gripper", "")
    try:
        assert harness.transition(Transition.TRANSITION_CONFIGURE)
        assert harness.transition(Transition.TRANSITION_ACTIVATE)
        assert harness.spin_until(lambda: len(harness.states) > 3, 10.0)
        assert list(harness.states[-1].name) == ["gripper_width"]

        def command_until(width, done, timeout_s=20.0):
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                harness.command.publish(joint_state(["gripper_width"], [width], time.time_ns()))
                if harness.spin_until(lambda: done(harness.states[-1].position[0]), 0.05):
                    return True
            return False

        assert command_until(1.0, lambda w: w > 0.95), harness.states[-1]
        assert command_until(0.0, lambda w: w < 0.05), harness.states[-1]
    finally:
        harness.close()
