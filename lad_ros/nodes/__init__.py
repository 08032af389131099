"""Thin rclpy nodes. Each is a console script installed to lib/lad_ros (`ros2 run lad_ros <name>`).

NODE_SCRIPTS is read by setup.py and by the colcon build test: add a node here, nowhere else.
This module must stay free of imports so setup.py can read it on any machine.
"""
NODE_SCRIPTS: dict[str, str] = {
    "camera_node": "lad_ros.nodes.camera_node:main",
    "arm_node": "lad_ros.nodes.arm_node:main",
    "hand_node": "lad_ros.nodes.hand_node:main",
}
