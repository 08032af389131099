"""Real rclpy: one node publishes a faive JointState, another receives it intact."""
import time

import pytest

pytestmark = pytest.mark.integration


def test_joint_state_roundtrip(ros_context):
    import os

    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import JointState

    from lad_ros.embodiment import load_embodiment
    from lad_ros.nodes.ros_common import QOS_STATE, joint_state, ns_from_stamp

    faive = load_embodiment("faive")
    import rclpy
    publisher_node = rclpy.create_node("js_publisher", context=ros_context)
    subscriber_node = rclpy.create_node("js_subscriber", context=ros_context)
    received = []
    subscriber_node.create_subscription(JointState, "/lad/hand/joint_states", received.append,
                                        QOS_STATE)
    publisher = publisher_node.create_publisher(JointState, "/lad/hand/joint_states", QOS_STATE)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(publisher_node)
    executor.add_node(subscriber_node)

    stamp_ns = 1_700_000_000_123_456_789
    deadline = time.monotonic() + 20.0
    while not received and time.monotonic() < deadline:
        if publisher.get_subscription_count() > 0:
            publisher.publish(joint_state(faive.joint_names, faive.neutral, stamp_ns))
        executor.spin_once(timeout_sec=0.05)
    executor.shutdown()
    publisher_node.destroy_node()
    subscriber_node.destroy_node()

    assert received, f"no JointState received on domain {os.environ['ROS_DOMAIN_ID']}"
    message = received[0]
    assert list(message.name) == faive.joint_names
    assert list(message.position) == pytest.approx(faive.neutral)
    assert ns_from_stamp(message.header.stamp) == stamp_ns


def test_isolation_environment():
    import os
    assert os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] == "LOCALHOST"
    assert 1 <= int(os.environ["ROS_DOMAIN_ID"]) <= 101


def test_domain_claims_are_exclusive(tmp_path):
    from ros_isolation import claim_ros_domain
    claimed = {claim_ros_domain(str(tmp_path)) for _ in range(5)}
    assert len(claimed) == 5
