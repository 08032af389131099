"""Test-wide setup: every pytest process gets its own DDS domain, discovery stays on localhost.

This runs before any test module imports rclpy, and child processes (nodes, franky-sim) inherit
the environment, so parallel test runs on one machine never see each other's topics.
"""
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ros_isolation import claim_ros_domain  # noqa: E402

os.environ["ROS_DOMAIN_ID"] = str(claim_ros_domain())
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp")
os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")


@pytest.fixture
def ros_context():
    """An initialized rclpy context of this test's own, shut down afterwards."""
    import rclpy
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context)
    yield context
    context.try_shutdown()
