"""The Dynamixel driver section: every mistake names the file and the field."""
import pytest
import yaml

from lad_ros.config import ConfigError
from lad_ros.drivers.dynamixel_hand import DynamixelSettings
from lad_ros.embodiment import embodiment_file, load_embodiment, load_embodiment_path


def _load_with(tmp_path, **driver_changes):
    data = yaml.safe_load(embodiment_file("faive").read_text())
    data["driver"].update(driver_changes)
    path = tmp_path / "faive.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, lambda: load_embodiment_path(path)


@pytest.mark.parametrize("change, field, words", [
    ({"latency_timr_ms": 1}, "driver.latency_timr_ms", "one of the known fields"),
    ({"latency_timer_ms": 0}, "driver.latency_timer_ms", "(0, 255]"),
    ({"max_retries": 50}, "driver.max_retries", "0..10"),
    ({"operating_mode": 1}, "driver.operating_mode", "a position mode"),
    ({"return_delay_us": 1000}, "driver.return_delay_us", "0..508"),
    ({"bus_rate_hz": 0.5}, "driver.bus_rate_hz", ">= 1.0"),
])
def test_bad_driver_fields_name_file_and_field(tmp_path, change, field, words):
    path, load = _load_with(tmp_path, **change)
    with pytest.raises(ConfigError) as info:
        load()
    message = str(info.value)
    assert str(path) in message and f"'{field}'" in message and words in message, message


def test_shipped_settings_and_overrides():
    settings = DynamixelSettings.from_params(load_embodiment("faive").driver.params,
                                             port="/dev/pts/9", latency_timer_ms=None)
    assert settings.port == "/dev/pts/9"
    assert settings.latency_timer_ms is None  # read from sysfs at connect, else 16 ms
    assert (settings.baudrate, settings.operating_mode, settings.current_limit_ma) == (
        3_000_000, 5, 200)
    assert settings.bus_rate_hz == 100 and settings.max_retries == 2


def test_latency_timer_is_read_from_the_usb_serial_sysfs(tmp_path):
    from lad_ros.drivers.dynamixel_io import ftdi_latency_timer_ms
    (tmp_path / "ttyUSB0").mkdir()
    (tmp_path / "ttyUSB0" / "latency_timer").write_text("1\n")
    assert ftdi_latency_timer_ms("/dev/ttyUSB0", sysfs=str(tmp_path)) == 1.0
    assert ftdi_latency_timer_ms("/dev/pts/3", sysfs=str(tmp_path)) is None
