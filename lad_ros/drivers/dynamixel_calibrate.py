"""`lad hand-zero`: read a Dynamixel hand's motor angles with every joint at its zero pose and
print the `motor_zero_rad` line for config/embodiments/<hand>.yaml. Torque stays off."""
from __future__ import annotations

import numpy as np

from lad_ros.drivers.dynamixel_hand import DynamixelHandDriver
from lad_ros.embodiment import load_embodiment


def motor_zero_rad(driver: DynamixelHandDriver) -> list[float]:
    """The motor angles now; with the joints at zero these are the map's zeros."""
    joint_map, state = driver.joint_map, driver.latest_state()
    return np.round(joint_map.motor_rad(state.position), 4).tolist()


def configure(parser) -> None:
    parser.add_argument("--embodiment", default="faive", help="a Dynamixel hand (faive, mimic)")
    parser.add_argument("--port", default=None, help="serial port (default: the config's)")


def run(args) -> int:
    config = load_embodiment(args.embodiment)
    if config.driver is None or config.driver.kind != "dynamixel":
        print(f"{args.embodiment}: not a Dynamixel hand")
        return 2
    driver = DynamixelHandDriver(config, port=args.port)
    driver.connect()  # pings and configures; torque stays off
    try:
        zeros = motor_zero_rad(driver)
        print(f"# {config.file}: driver.joint_to_motor, measured with every joint at zero")
        print(f"motor_zero_rad: {zeros}")
        current = driver.latest_state().position
        for name, value in zip(config.joint_names, current):
            print(f"#   {name}: {value:+.4f} rad with the current zeros")
    finally:
        driver.close()
    return 0
