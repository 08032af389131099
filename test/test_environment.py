"""The pinned environment has every runtime dependency the package imports (issue 2)."""
import importlib

import pytest

MODULES = ["rclpy", "franky", "franky_sim", "pyrealsense2", "dynamixel_sdk", "torch",
           "diffusers", "rosbags", "mujoco", "safetensors", "cv2", "scipy", "mcap", "yaml",
           "sensor_msgs.msg", "geometry_msgs.msg", "nav_msgs.msg", "trajectory_msgs.msg",
           "std_srvs.srv", "diagnostic_msgs.msg", "lifecycle_msgs.msg"]


@pytest.mark.parametrize("name", MODULES)
def test_runtime_dependency_imports(name):
    module = importlib.import_module(name)
    assert module.__name__ == name


def test_torch_is_the_pinned_cpu_build():
    import torch
    assert torch.__version__.startswith("2.13.0")
