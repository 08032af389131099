"""The HandDriver for an embodiment, chosen by its `driver.kind` (config/embodiments/<name>.yaml).

Drivers are imported when chosen, so a machine without franky can still run a Dynamixel hand.
Overrides that are None are dropped, so a node can pass its parameters through unconditionally.
"""
from __future__ import annotations

from lad_ros.drivers.hand_driver import HandDriver

# Overrides each driver kind understands; others are ignored (e.g. a hand node's `port`
# parameter while the gripper is the active end-effector).
_OVERRIDES = {
    "dynamixel": {"port", "baudrate", "latency_timer_ms", "max_retries", "bus_rate_hz"},
    "franky_gripper": {"robot_ip", "cell_config"},
}


def make_hand_driver(config, **overrides) -> HandDriver:
    if config.driver is None:
        raise ValueError(f"{config.file}: embodiment '{config.name}' has no driver section")
    kind = config.driver.kind
    if kind not in _OVERRIDES:
        raise ValueError(f"{config.file}: no hand driver for driver kind '{kind}'")
    chosen = {k: v for k, v in overrides.items()
              if v is not None and v != "" and k in _OVERRIDES[kind]}
    if kind == "dynamixel":
        from lad_ros.drivers.dynamixel_hand import DynamixelHandDriver
        return DynamixelHandDriver(config, **chosen)
    from lad_ros.drivers.franka_gripper import FrankaGripperDriver
    return FrankaGripperDriver(config, **chosen)
