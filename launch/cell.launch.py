"""The LAD cell: arm, hand (lifecycle, autostarted) and cameras for one end-effector.

    ros2 launch lad_ros cell.launch.py embodiment:=faive|mimic|franka_gripper sim:=false \
        cameras:=front,wrist

sim:=true starts franky-sim and, for a Dynamixel hand, the bus simulator instead of hardware.
Thin by design: what runs is lad_ros.launch_plan.cell_plan, tested without the launch packages.
"""
from launch import LaunchDescription
from launch.actions import (DeclareLaunchArgument, ExecuteProcess, OpaqueFunction,
                            RegisterEventHandler)
from launch.event_handlers import OnProcessIO
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from lad_ros.launch_plan import cell_plan


def _actions(context):
    sim = LaunchConfiguration("sim").perform(context).lower() in ("true", "1", "yes")
    cameras = tuple(c for c in LaunchConfiguration("cameras").perform(context).split(",") if c)
    plan = cell_plan(LaunchConfiguration("embodiment").perform(context), sim, cameras)
    nodes = [Node(package="lad_ros", executable=n.executable, name=n.name,
                  parameters=[n.parameters], remappings=list(n.remappings), output="screen")
             for n in plan.nodes]
    if not plan.processes:
        return nodes
    # Simulators first; the nodes start once every simulator has printed its ready line.
    waiting = {p.name for p in plan.processes}
    actions = []
    for spec in plan.processes:
        process = ExecuteProcess(cmd=spec.command(), name=spec.name, output="screen")

        def on_output(event, name=spec.name, ready_line=spec.ready_line):
            if name in waiting and ready_line in event.text.decode(errors="replace"):
                waiting.discard(name)
                return nodes if not waiting else None
            return None

        actions += [process, RegisterEventHandler(OnProcessIO(target_action=process,
                                                              on_stdout=on_output))]
    return actions


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("embodiment", default_value="faive",
                              description="faive | mimic | franka_gripper"),
        DeclareLaunchArgument("sim", default_value="false",
                              description="true: franky-sim and the Dynamixel bus simulator"),
        DeclareLaunchArgument("cameras", default_value="front",
                              description="comma-separated names from config/cameras.yaml"),
        OpaqueFunction(function=_actions),
    ])
