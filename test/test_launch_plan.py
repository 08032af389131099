"""The cell's launch plan: what `ros2 launch lad_ros cell.launch.py` and the runner start."""
import pytest

from lad_ros.launch_plan import NodeSpec, cell_plan, format_parameter, sim_hand_bus_link
from lad_ros.nodes import NODE_SCRIPTS


@pytest.mark.parametrize("value,text", [(True, "true"), (3, "3"), (0.5, "0.5"),
                                        ("faive", "faive"), ("127.0.0.1", "127.0.0.1"),
                                        ("1.5", "'1.5'"), ("true", "'true'"), ("", "''"),
                                        ("a:b", "'a:b'"), ([1.0, 2.0], "[1.0,2.0]")])
def test_parameter_formatting(value, text):
    assert format_parameter(value) == text


def test_sim_plan_for_a_dynamixel_hand():
    plan = cell_plan("faive", sim=True)
    assert [p.name for p in plan.processes] == ["franky_sim", "hand_bus_sim"]
    arm, hand = plan.nodes
    assert arm.parameters == {"tool": "faive", "robot_ip": "127.0.0.1", "realtime": "ignore"}
    assert hand.parameters["port"] == sim_hand_bus_link()
    assert hand.parameters["autostart"] is True
    assert sim_hand_bus_link() in plan.processes[1].command()
    assert "11" in plan.processes[1].command()


def test_sim_plan_for_the_gripper_has_no_bus():
    plan = cell_plan("franka_gripper", sim=True)
    assert [p.name for p in plan.processes] == ["franky_sim"]
    assert plan.nodes[1].parameters["robot_ip"] == "127.0.0.1"


def test_real_plan_starts_cameras_and_no_simulators():
    plan = cell_plan("mimic", sim=False, cameras=("front", "wrist"))
    assert plan.processes == ()
    assert [n.name for n in plan.nodes] == ["arm", "hand", "camera_front", "camera_wrist"]
    assert all(n.executable in NODE_SCRIPTS for n in plan.nodes)
    assert "port" not in plan.nodes[1].parameters


def test_unknown_embodiment_and_executable_are_rejected():
    with pytest.raises(ValueError, match="embodiment must be one of"):
        cell_plan("human", sim=True)
    with pytest.raises(ValueError, match="no node executable"):
        NodeSpec("teleport_node", "x").command()


@pytest.mark.integration
def test_ros_args_reach_a_real_node_with_their_types(ros_context):
    """rclpy parses the plan's --ros-args back into the same values and types."""
    import rclpy

    for spec in (*cell_plan("faive", sim=True).nodes, *cell_plan("franka_gripper", True).nodes):
        node = rclpy.create_node("plan_probe", context=ros_context,
                                 cli_args=spec.ros_args()[:1] + spec.ros_args()[3:],
                                 automatically_declare_parameters_from_overrides=True)
        try:
            for key, value in spec.parameters.items():
                parsed = node.get_parameter(key).value
                assert parsed == value and type(parsed) is type(value), (key, parsed)
        finally:
            node.destroy_node()
