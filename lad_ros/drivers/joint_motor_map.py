"""Joint angles <-> Dynamixel motor positions, per hand, from the embodiment's driver section.

Both models are affine per joint, motor_rad = motor_zero_rad + ratio * joint_rad:
- tendon_spool (Faive): one motor winds an antagonistic tendon pair on a spool; the tendon
  travel is moment_arm * joint_angle = spool_radius * motor_angle, so ratio = arm / radius;
- linear (mimic, or any calibrated hand): ratio = gain, measured per joint.
A negative ratio is a motor mounted the other way round. Motor positions on the bus are ticks,
4096 per revolution.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lad_ros.drivers.dynamixel_protocol import TICKS_PER_REV, VELOCITY_UNIT_RPM

RAD_PER_TICK = 2.0 * math.pi / TICKS_PER_REV
RAD_S_PER_VELOCITY_UNIT = VELOCITY_UNIT_RPM * 2.0 * math.pi / 60.0


@dataclass(frozen=True)
class JointMotorMap:
    ratio: np.ndarray           # motor rad per joint rad
    motor_zero_rad: np.ndarray  # motor angle at joint angle 0
    joint_lower: np.ndarray
    joint_upper: np.ndarray

    @classmethod
    def from_params(cls, mapping: dict, joint_lower, joint_upper) -> "JointMotorMap":
        if mapping["model"] == "tendon_spool":
            ratio = np.asarray(mapping["moment_arms_m"], float) / float(mapping["spool_radius_m"])
        elif mapping["model"] == "linear":
            ratio = np.asarray(mapping["gain"], float)
        else:
            raise ValueError(f"unknown joint_to_motor model {mapping['model']!r}")
        if np.any(ratio == 0.0):
            raise ValueError("joint_to_motor: a zero ratio would make a joint unobservable")
        return cls(ratio, np.asarray(mapping["motor_zero_rad"], float),
                   np.asarray(joint_lower, float), np.asarray(joint_upper, float))

    @classmethod
    def from_embodiment(cls, config) -> "JointMotorMap":
        return cls.from_params(config.driver.params["joint_to_motor"], config.lower, config.upper)

    def motor_rad(self, joint_rad: np.ndarray) -> np.ndarray:
        return self.motor_zero_rad + self.ratio * np.asarray(joint_rad, float)

    def joint_rad(self, motor_rad: np.ndarray) -> np.ndarray:
        return (np.asarray(motor_rad, float) - self.motor_zero_rad) / self.ratio

    def goal_ticks(self, joint_rad: np.ndarray) -> np.ndarray:
        """Goal positions for the bus: joints clamped to their limits first, so a goal can
        never leave the motor range that corresponds to the joint limits."""
        joint_rad = np.asarray(joint_rad, float)
        if joint_rad.shape != self.ratio.shape or not np.all(np.isfinite(joint_rad)):
            raise ValueError(f"goal_ticks: expected {self.ratio.size} finite joint angles")
        clamped = np.clip(joint_rad, self.joint_lower, self.joint_upper)
        ticks = np.rint(self.motor_rad(clamped) / RAD_PER_TICK).astype(np.int64)
        low, high = self.tick_range()
        return np.clip(ticks, low, high)

    def tick_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Per motor, the tick interval the joint limits map to (rounded outwards)."""
        a = self.motor_rad(self.joint_lower) / RAD_PER_TICK
        b = self.motor_rad(self.joint_upper) / RAD_PER_TICK
        return (np.floor(np.minimum(a, b)).astype(np.int64),
                np.ceil(np.maximum(a, b)).astype(np.int64))

    def joint_from_ticks(self, ticks: np.ndarray) -> np.ndarray:
        return self.joint_rad(np.asarray(ticks, float) * RAD_PER_TICK)

    def joint_velocity(self, velocity_units: np.ndarray) -> np.ndarray:
        return np.asarray(velocity_units, float) * RAD_S_PER_VELOCITY_UNIT / self.ratio
