"""config/cell.yaml arm/gripper sections: shipped file valid, errors name file and field."""
import pytest
import yaml

from lad_ros.config import ConfigError
from lad_ros.drivers.franka_config import (default_cell_file, load_arm_config,
                                           load_gripper_config)


def write(tmp_path, data) -> str:
    path = tmp_path / "cell.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def shipped() -> dict:
    with open(default_cell_file(), encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def test_shipped_cell_config_loads():
    arm = load_arm_config()
    assert arm.realtime in ("enforce", "ignore") and len(arm.joint_names) == 7
    assert 0 < arm.dynamics.jerk <= arm.dynamics.acceleration <= arm.dynamics.velocity <= 1
    assert arm.control_rate_hz <= arm.state_rate_hz
    gripper = load_gripper_config()
    assert gripper.robot_ip == arm.robot_ip   # null -> the arm's address


def test_other_sections_are_ignored(tmp_path):
    data = shipped()
    data["cameras"] = {"anything": [1, 2, 3]}
    assert load_arm_config(write(tmp_path, data)).robot_ip == data["arm"]["robot_ip"]


@pytest.mark.parametrize("field, value, where", [
    ("realtime", "sometimes", "arm.realtime"),
    ("joint_names", ["a"] * 7, "arm.joint_names"),
    ("home_joint_positions", [0.0] * 6, "arm.home_joint_positions"),
    ("home_joint_positions", [0.0, 0.0, 0.0, 0.0, 0.0, 1.5, 0.0], "arm.home_joint_positions[3]"),
    ("control_rate_hz", 5000.0, "arm.control_rate_hz"),
    ("dynamcis", {}, "arm.dynamcis"),
])
def test_bad_arm_fields_are_named(tmp_path, field, value, where):
    data = shipped()
    data["arm"][field] = value
    with pytest.raises(ConfigError) as error:
        load_arm_config(write(tmp_path, data))
    assert error.value.field == where and error.value.file.endswith("cell.yaml")


def test_dynamics_factor_out_of_range(tmp_path):
    data = shipped()
    data["arm"]["dynamics"]["jerk"] = 1.5
    with pytest.raises(ConfigError) as error:
        load_arm_config(write(tmp_path, data))
    assert error.value.field == "arm.dynamics.jerk"


def test_gripper_section_required(tmp_path):
    data = shipped()
    del data["gripper"]
    with pytest.raises(ConfigError) as error:
        load_gripper_config(write(tmp_path, data))
    assert error.value.field == "gripper"
