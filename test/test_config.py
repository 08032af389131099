"""Shipped embodiment configs load; every kind of bad file gives one clear error."""
import math

import pytest
import yaml

from lad_ros.config import ConfigError
from lad_ros.embodiment import (available_embodiments, embodiment_file, load_embodiment,
                                load_embodiment_path)


def test_every_shipped_embodiment_loads():
    assert set(available_embodiments()) >= {"human", "faive", "mimic", "franka_gripper"}
    for name in available_embodiments():
        assert load_embodiment(name).name == name


def test_known_sizes_and_limits():
    faive, mimic = load_embodiment("faive"), load_embodiment("mimic")
    gripper, human = load_embodiment("franka_gripper"), load_embodiment("human")
    assert faive.action_dim == 11 and mimic.action_dim == 16
    assert gripper.joint_names == ["gripper_width"] and gripper.max_width_m == 0.08
    assert (gripper.lower, gripper.upper) == ([0.0], [1.0])
    assert human.action_dim == 63 and human.keypoints[0] == "wrist"
    assert human.keypoints[4] == "thumb_tip" and human.keypoints[20] == "pinky_tip"
    # Faive P0: thumb rotation 0..130 deg; mimic P050 thumb_cmc2mcp is non-positive.
    assert math.isclose(faive.upper[0], math.radians(130), abs_tol=1e-3)
    assert mimic.joint_names[1] == "thumb_cmc2mcp" and mimic.upper[1] == 0.0
    assert all(lo <= n <= hi for lo, n, hi in zip(faive.lower, faive.neutral, faive.upper))
    assert faive.driver.params["baudrate"] == 3_000_000
    assert len(mimic.driver.params["motor_ids"]) == 16


def _write_variant(tmp_path, edit, name="faive"):
    data = yaml.safe_load(embodiment_file(name).read_text())
    edit(data)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _expect_error(path, field, expected_words):
    with pytest.raises(ConfigError) as info:
        load_embodiment_path(path)
    message = str(info.value)
    assert str(path) in message, message
    assert f"'{field}'" in message, message
    assert expected_words in message, message
    return info.value


def test_unknown_embodiment_name(tmp_path):
    path = _write_variant(tmp_path, lambda d: d.update(name="shadow_hand"))
    _expect_error(path, "name", "one of")


def test_unknown_embodiment_requested():
    with pytest.raises(ConfigError) as info:
        load_embodiment("allegro")
    assert "allegro" in str(info.value) and "faive" in str(info.value)


def test_missing_field(tmp_path):
    path = _write_variant(tmp_path, lambda d: d["joints"][3].pop("upper"))
    _expect_error(path, "joints[3].upper", "field is missing")


def test_missing_section(tmp_path):
    path = _write_variant(tmp_path, lambda d: d.pop("driver"))
    _expect_error(path, "driver", "section is missing")


def test_limit_min_greater_than_max(tmp_path):
    def edit(d):
        d["joints"][0]["lower"], d["joints"][0]["upper"] = 1.0, 0.5
    path = _write_variant(tmp_path, edit)
    _expect_error(path, "joints[0].lower", "lower <= upper")


def test_wrong_type(tmp_path):
    path = _write_variant(tmp_path, lambda d: d["joints"][1].update(upper="ninety"))
    err = _expect_error(path, "joints[1].upper", "a number")
    assert "ninety" in str(err)


def test_wrong_type_in_driver(tmp_path):
    path = _write_variant(tmp_path, lambda d: d["driver"].update(baudrate=3.5e6),
                          name="mimic")
    _expect_error(path, "driver.baudrate", "an integer")


def test_wrong_joint_count(tmp_path):
    def edit(d):
        d["joints"] = d["joints"][:10]
        d["driver"]["motor_ids"] = d["driver"]["motor_ids"][:10]
        for key in ("moment_arms_m", "motor_zero_rad"):
            d["driver"]["joint_to_motor"][key] = d["driver"]["joint_to_motor"][key][:10]
    path = _write_variant(tmp_path, edit)
    _expect_error(path, "joints", "11 action dimensions")


def test_vector_of_wrong_length(tmp_path):
    path = _write_variant(tmp_path, lambda d: d["driver"].update(motor_ids=[1, 2, 3]))
    _expect_error(path, "driver.motor_ids", "a list of 11")


def test_non_finite_number(tmp_path):
    path = _write_variant(tmp_path, lambda d: d["joints"][2].update(upper=float("nan")))
    _expect_error(path, "joints[2].upper", "finite")


def test_unknown_field_is_not_silently_ignored(tmp_path):
    path = _write_variant(tmp_path, lambda d: d.update(max_joint_velocty=9.0))
    _expect_error(path, "max_joint_velocty", "known fields")


def test_not_yaml(tmp_path):
    path = tmp_path / "faive.yaml"
    path.write_text("name: [unclosed\n")
    _expect_error(path, "<file>", "valid YAML")


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nope.yaml", "<file>", "an existing file")
