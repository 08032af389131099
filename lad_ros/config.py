"""Validated configuration: YAML files become frozen dataclasses, or one clear ConfigError.

Every error names the file, the field (as a dotted path, list items as `[i]`) and what was
expected, so a user can fix a config without reading code. Other modules build their own
loaders on `Fields` (see `load_embodiment_file` for the pattern).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import yaml

_MISSING = object()


class ConfigError(ValueError):
    """A configuration or model file is wrong: which file, which field, what was expected."""

    def __init__(self, file: str, field: str, expected: str, got: Any = _MISSING):
        self.file, self.field, self.expected = str(file), field, expected
        message = f"{file}: field '{field}': expected {expected}"
        if got is not _MISSING:
            message += f", got {got!r}"
        super().__init__(message)


def read_yaml(path: str | os.PathLike) -> dict:
    """Parse a YAML file whose top level must be a mapping."""
    path = str(path)
    try:
        with open(path, encoding="utf-8") as stream:
            data = yaml.safe_load(stream)
    except FileNotFoundError:
        raise ConfigError(path, "<file>", "an existing file") from None
    except yaml.YAMLError as error:
        raise ConfigError(path, "<file>", f"valid YAML ({error})".replace("\n", " ")) from None
    if not isinstance(data, dict):
        raise ConfigError(path, "<top level>", "a mapping", data)
    return data


def _type_name(kind: type | tuple) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             list: "a list", dict: "a mapping"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


class Fields:
    """Typed access to one mapping of a config file, raising ConfigError with the field's path."""

    def __init__(self, file: str, data: Any, path: str = ""):
        self.file, self.path = str(file), path
        if not isinstance(data, dict):
            raise ConfigError(self.file, path or "<top level>", "a mapping", data)
        self.data = data

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, expected: str, got: Any = _MISSING) -> ConfigError:
        return ConfigError(self.file, self._where(key), expected, got)

    def _check(self, key: str, value: Any, kind: type | tuple) -> Any:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if isinstance(value, bool) and bool not in kinds:
            raise self.error(key, _type_name(kind), value)
        if not isinstance(value, kinds):
            raise self.error(key, _type_name(kind), value)
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(key, "a finite number", value)
        return value

    def req(self, key: str, kind: type | tuple) -> Any:
        if key not in self.data:
            raise self.error(key, f"{_type_name(kind)} (field is missing)")
        return self._check(key, self.data[key], kind)

    def opt(self, key: str, kind: type | tuple, default: Any) -> Any:
        if key not in self.data or self.data[key] is None:
            return default
        return self._check(key, self.data[key], kind)

    def number(self, key: str, default: Any = _MISSING, *, minimum: float | None = None,
               maximum: float | None = None) -> float:
        value = self.req(key, float) if default is _MISSING else self.opt(key, float, default)
        if minimum is not None and value < minimum:
            raise self.error(key, f"a number >= {minimum}", value)
        if maximum is not None and value > maximum:
            raise self.error(key, f"a number <= {maximum}", value)
        return value

    def choice(self, key: str, options: tuple, default: Any = _MISSING) -> Any:
        value = self.data.get(key, default)
        if value is _MISSING:
            raise self.error(key, f"one of {list(options)} (field is missing)")
        if value not in options:
            raise self.error(key, f"one of {list(options)}", value)
        return value

    def sub(self, key: str, required: bool = True) -> "Fields | None":
        if key not in self.data or self.data[key] is None:
            if required:
                raise self.error(key, "a mapping (section is missing)")
            return None
        return Fields(self.file, self.data[key], self._where(key))

    def items(self, key: str, required: bool = True) -> list["Fields"]:
        """A list of mappings, each wrapped for typed access."""
        values = self.req(key, list) if required else self.opt(key, list, [])
        return [Fields(self.file, v, f"{self._where(key)}[{i}]") for i, v in enumerate(values)]

    def vector(self, key: str, length: int | None = None, kind: type = float,
               default: Any = _MISSING) -> tuple:
        if default is not _MISSING and self.data.get(key) is None:
            return default
        values = self.req(key, list)
        if length is not None and len(values) != length:
            raise self.error(key, f"a list of {length} {_type_name(kind)} values", values)
        return tuple(self._check(f"{key}[{i}]", v, kind) for i, v in enumerate(values))

    def keys_known(self, allowed: set[str]) -> None:
        """Reject unknown keys: a typo in a safety limit must not silently fall back to a default."""
        for key in self.data:
            if key not in allowed:
                raise self.error(str(key), f"one of the known fields {sorted(allowed)}",
                                 "unknown field")


@dataclass(frozen=True)
class JointSpec:
    name: str
    lower: float
    upper: float
    neutral: float


@dataclass(frozen=True)
class ToolSpec:
    """What franky needs on a tool change: `set_load` and the flange-to-TCP transform (`set_ee`)."""
    mass_kg: float
    center_of_mass_m: tuple
    inertia_kgm2: tuple
    flange_to_tcp_xyz_m: tuple
    flange_to_tcp_quat_xyzw: tuple


@dataclass(frozen=True)
class DriverSpec:
    kind: str
    params: dict  # driver-specific section, validated here for the fields every driver needs


@dataclass(frozen=True)
class LatentRef:
    setup: str
    model_dir: str


EMBODIMENT_KINDS = ("dexterous_hand", "parallel_gripper", "human_hand")
DRIVER_KINDS = ("dynamixel", "franky_gripper")
JOINT_TO_MOTOR_MODELS = ("tendon_spool", "linear")


def _joints(fields: Fields) -> tuple[JointSpec, ...]:
    joints, seen = [], set()
    for item in fields.items("joints"):
        name = item.req("name", str)
        if name in seen:
            raise item.error("name", "a joint name not used before", name)
        seen.add(name)
        lower, upper = item.number("lower"), item.number("upper")
        if lower > upper:
            raise item.error("lower", f"lower <= upper ({upper})", lower)
        neutral = item.number("neutral", default=min(max(0.0, lower), upper))
        if not lower <= neutral <= upper:
            raise item.error("neutral", f"a value within [{lower}, {upper}]", neutral)
        joints.append(JointSpec(name, lower, upper, neutral))
    if not joints:
        raise fields.error("joints", "at least one joint", [])
    return tuple(joints)


DYNAMIXEL_FIELDS = {"kind", "port", "baudrate", "protocol", "operating_mode", "current_limit_ma",
                    "current_unit_ma", "return_delay_us", "motor_ids", "joint_to_motor",
                    "latency_timer_ms", "max_retries", "bus_rate_hz"}


def _dynamixel_params(driver: Fields, n_joints: int) -> dict:
    driver.keys_known(DYNAMIXEL_FIELDS)
    params = {
        "port": driver.req("port", str),
        "baudrate": driver.req("baudrate", int),
        "protocol": driver.number("protocol"),
        "operating_mode": driver.req("operating_mode", int),
        "current_limit_ma": driver.number("current_limit_ma", minimum=0.0),
        "return_delay_us": driver.opt("return_delay_us", int, 0),
        "motor_ids": driver.vector("motor_ids", n_joints, int),
        # XC330: 1 mA per unit; XM430: 2.69 mA
        "current_unit_ma": driver.number("current_unit_ma", 1.0, minimum=0.01),
        # FTDI latency the read timeouts budget for; None: read it from sysfs, else 16 ms
        "latency_timer_ms": driver.opt("latency_timer_ms", float, None),
        "max_retries": driver.opt("max_retries", int, 2),
        "bus_rate_hz": driver.number("bus_rate_hz", 100.0, minimum=1.0, maximum=2000.0),
    }
    if params["latency_timer_ms"] is not None and not 0 < params["latency_timer_ms"] <= 255:
        raise driver.error("latency_timer_ms", "a number in (0, 255] ms",
                           params["latency_timer_ms"])
    if not 0 <= params["max_retries"] <= 10:
        raise driver.error("max_retries", "an integer in 0..10", params["max_retries"])
    if params["operating_mode"] not in (3, 4, 5):
        raise driver.error("operating_mode", "3, 4 or 5 (a position mode: position, extended "
                           "position, current-based position)", params["operating_mode"])
    if params["return_delay_us"] < 0 or params["return_delay_us"] > 508:
        raise driver.error("return_delay_us", "0..508 (2 us units on the motor)",
                           params["return_delay_us"])
    if params["protocol"] != 2.0:
        raise driver.error("protocol", "2.0 (only Dynamixel protocol 2.0 is supported)",
                           params["protocol"])
    if len(set(params["motor_ids"])) != n_joints or not all(
            0 <= i <= 252 for i in params["motor_ids"]):
        raise driver.error("motor_ids", "distinct ids in 0..252", list(params["motor_ids"]))
    mapping = driver.sub("joint_to_motor")
    model = mapping.choice("model", JOINT_TO_MOTOR_MODELS)
    params["joint_to_motor"] = {"model": model,
                                "motor_zero_rad": mapping.vector("motor_zero_rad", n_joints)}
    if model == "tendon_spool":
        params["joint_to_motor"]["spool_radius_m"] = mapping.number("spool_radius_m",
                                                                    minimum=1e-4)
        params["joint_to_motor"]["moment_arms_m"] = mapping.vector("moment_arms_m", n_joints)
    else:
        params["joint_to_motor"]["gain"] = mapping.vector("gain", n_joints)
    return params


def _driver(fields: Fields, n_joints: int) -> DriverSpec:
    driver = fields.sub("driver")
    kind = driver.choice("kind", DRIVER_KINDS)
    if kind == "dynamixel":
        return DriverSpec(kind, _dynamixel_params(driver, n_joints))
    return DriverSpec(kind, {"speed_mps": driver.number("speed_mps", minimum=0.0),
                             "force_n": driver.number("force_n", minimum=0.0)})


def _tool(fields: Fields) -> ToolSpec | None:
    tool = fields.sub("tool", required=False)
    if tool is None:
        return None
    return ToolSpec(mass_kg=tool.number("mass_kg", minimum=0.0),
                    center_of_mass_m=tool.vector("center_of_mass_m", 3),
                    inertia_kgm2=tool.vector("inertia_kgm2", 9),
                    flange_to_tcp_xyz_m=tool.vector("flange_to_tcp_xyz_m", 3),
                    flange_to_tcp_quat_xyzw=tool.vector("flange_to_tcp_quat_xyzw", 4))


@dataclass(frozen=True)
class EmbodimentConfig:
    """One end-effector (or the human hand) as the rest of the stack sees it."""
    file: str
    name: str
    kind: str
    description: str
    joints: tuple[JointSpec, ...] = ()
    keypoints: tuple[str, ...] = ()
    max_joint_velocity: float | None = None
    max_width_m: float | None = None
    driver: DriverSpec | None = None
    latent: LatentRef | None = None
    tool: ToolSpec | None = None

    @property
    def joint_names(self) -> list[str]:
        return [j.name for j in self.joints]

    @property
    def lower(self) -> list[float]:
        return [j.lower for j in self.joints]

    @property
    def upper(self) -> list[float]:
        return [j.upper for j in self.joints]

    @property
    def neutral(self) -> list[float]:
        return [j.neutral for j in self.joints]

    @property
    def action_dim(self) -> int:
        """Size of this embodiment's action vector (human: 21 keypoints x 3)."""
        return 3 * len(self.keypoints) if self.kind == "human_hand" else len(self.joints)


HUMAN_KEYPOINT_COUNT = 21


def load_embodiment_file(path: str | os.PathLike) -> EmbodimentConfig:
    path = str(path)
    fields = Fields(path, read_yaml(path))
    fields.keys_known({"name", "kind", "description", "joints", "keypoints",
                       "max_joint_velocity", "max_width_m", "driver", "latent", "tool"})
    name = fields.req("name", str)
    kind = fields.choice("kind", EMBODIMENT_KINDS)
    latent_fields = fields.sub("latent", required=False)
    latent = None if latent_fields is None else LatentRef(latent_fields.req("setup", str),
                                                          latent_fields.req("model_dir", str))
    common = dict(file=path, name=name, kind=kind,
                  description=fields.opt("description", str, ""), latent=latent)
    if kind == "human_hand":
        keypoints = fields.vector("keypoints", HUMAN_KEYPOINT_COUNT, str)
        if len(set(keypoints)) != len(keypoints):
            raise fields.error("keypoints", "21 distinct keypoint names", list(keypoints))
        return EmbodimentConfig(keypoints=keypoints, **common)
    joints = _joints(fields)
    config = EmbodimentConfig(
        joints=joints,
        max_joint_velocity=fields.number("max_joint_velocity", minimum=1e-6),
        max_width_m=(fields.number("max_width_m", minimum=1e-3)
                     if kind == "parallel_gripper" else None),
        driver=_driver(fields, len(joints)),
        tool=_tool(fields),
        **common)
    if kind == "parallel_gripper" and len(joints) != 1:
        raise fields.error("joints", "exactly one joint (the normalized width)", len(joints))
    return config
