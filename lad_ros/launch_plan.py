"""What a cell runs, as plain data: the launch files and the runner both start exactly this.

`ros2 launch lad_ros cell.launch.py` turns a plan into launch_ros Node / ExecuteProcess actions;
without `ros2 launch` (fresh machine, CI) `lad_ros.launch_runner` spawns the same processes as
`python -m <module> --ros-args -p ... -r ...`. Keeping the plan here makes it testable without
the launch packages.
"""
from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lad_ros.nodes import NODE_SCRIPTS


@dataclass(frozen=True)
class NodeSpec:
    """One ROS node: a console script of this package with its parameters and remappings."""
    executable: str
    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()

    def module(self) -> str:
        try:
            return NODE_SCRIPTS[self.executable].split(":")[0]
        except KeyError:
            raise ValueError(f"launch plan: no node executable '{self.executable}' "
                             f"(known: {sorted(NODE_SCRIPTS)})") from None

    def ros_args(self) -> list[str]:
        args = ["--ros-args", "-r", f"__node:={self.name}"]
        for key, value in self.parameters.items():
            args += ["-p", f"{key}:={format_parameter(value)}"]
        for source, target in self.remappings:
            args += ["-r", f"{source}:={target}"]
        return args

    def command(self, python: str = sys.executable) -> list[str]:
        return [python, "-m", self.module(), *self.ros_args()]


@dataclass(frozen=True)
class ProcessSpec:
    """A helper process that is not a ROS node (a simulator), started before the nodes."""
    name: str
    argv: tuple[str, ...]
    ready_line: str = ""   # the runner waits for this line on stdout before starting nodes

    def command(self) -> list[str]:
        return list(self.argv)


def format_parameter(value: Any) -> str:
    """A parameter value as `--ros-args -p name:=value` parses it (YAML scalars / lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(format_parameter(v) for v in value) + "]"
    if isinstance(value, str):
        # Quote strings that YAML would otherwise read as numbers, booleans or empty.
        plain = value and not any(c in value for c in ":#[]{},'\" ") and \
            value.lower() not in ("true", "false", "yes", "no", "on", "off", "null", "~")
        try:
            float(value)
            plain = False
        except ValueError:
            pass
        return value if plain else "'" + value.replace("'", "''") + "'"
    return repr(value) if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class Plan:
    processes: tuple[ProcessSpec, ...]
    nodes: tuple[NodeSpec, ...]

    def check(self) -> "Plan":
        names = [n.name for n in self.nodes]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"launch plan: duplicate node names {sorted(duplicates)}")
        for node in self.nodes:
            node.module()
        return self


SIM_ROBOT_IP = "127.0.0.1"


def sim_hand_bus_link(robot_ip: str = SIM_ROBOT_IP) -> str:
    """Stable path of the simulated Dynamixel bus (a symlink to its pseudo-terminal), one per
    simulated cell (cells are told apart by their loopback address)."""
    return os.path.join(tempfile.gettempdir(), f"lad_ros_sim_{os.getuid()}",
                        f"hand_bus_{robot_ip}")


def _python_script(name: str) -> str:
    """A console script installed next to this Python (the venv's franky-sim, say)."""
    return str(Path(sys.executable).with_name(name))


def cell_plan(embodiment: str, sim: bool, cameras: tuple[str, ...] = (),
              sim_robot_ip: str = SIM_ROBOT_IP) -> Plan:
    """The cell for one end-effector: arm, hand (lifecycle, autostarted) and cameras.

    sim=True replaces the hardware with protocol peers: franky-sim (arm and Franka Hand on
    sim_robot_ip, any 127.x.y.z) and, for a Dynamixel hand, the bus simulator on a pty.
    """
    from lad_ros.embodiment import ROBOT_END_EFFECTORS, load_embodiment

    if embodiment not in ROBOT_END_EFFECTORS:
        raise ValueError(f"embodiment must be one of {list(ROBOT_END_EFFECTORS)}, "
                         f"got '{embodiment}'")
    config = load_embodiment(embodiment)
    processes: list[ProcessSpec] = []
    arm = {"tool": embodiment}
    hand: dict[str, Any] = {"embodiment": embodiment, "autostart": True}
    if sim:
        processes.append(ProcessSpec(
            "franky_sim", (_python_script("franky-sim"), "-s", "mujoco",
                           "--hostname", sim_robot_ip), ready_line="Connect to the server"))
        arm.update(robot_ip=sim_robot_ip, realtime="ignore")
        if config.driver.kind == "dynamixel":
            processes.append(ProcessSpec(
                "hand_bus_sim", (sys.executable, "-m", "lad_ros.sim.dynamixel_bus",
                                 "--motors", str(len(config.joints)),
                                 "--link", sim_hand_bus_link(sim_robot_ip)),
                ready_line="Dynamixel bus simulator:"))
            hand["port"] = sim_hand_bus_link(sim_robot_ip)
        else:
            hand["robot_ip"] = sim_robot_ip
    nodes = [NodeSpec("arm_node", "arm", arm), NodeSpec("hand_node", "hand", hand)]
    nodes += [NodeSpec("camera_node", f"camera_{name}", {"camera": name}) for name in cameras]
    return Plan(tuple(processes), tuple(nodes)).check()
