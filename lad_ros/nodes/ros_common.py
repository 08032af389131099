"""Shared rclpy helpers for the nodes: QoS profiles, stamps, fast message construction."""
from __future__ import annotations

from typing import Sequence

from builtin_interfaces.msg import Time
from diagnostic_msgs.msg import DiagnosticStatus, KeyValue
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy)
from sensor_msgs.msg import JointState
from std_msgs.msg import Header

# Images: best effort, so subscribers match realsense-ros publishers too.
QOS_IMAGES = QoSProfile(depth=5, history=HistoryPolicy.KEEP_LAST,
                        reliability=ReliabilityPolicy.BEST_EFFORT,
                        durability=DurabilityPolicy.VOLATILE)
# Commands and trajectories: only the newest matters, and it must arrive.
QOS_COMMANDS = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                          reliability=ReliabilityPolicy.RELIABLE,
                          durability=DurabilityPolicy.VOLATILE)
# State (joint states, poses): reliable, a little history for late readers.
QOS_STATE = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST,
                       reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.VOLATILE)
# Latched facts such as /lad/embodiment: late joiners get the last value.
QOS_LATCHED = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                         reliability=ReliabilityPolicy.RELIABLE,
                         durability=DurabilityPolicy.TRANSIENT_LOCAL)

_NS = 1_000_000_000


def stamp_from_ns(ns: int) -> Time:
    return Time(sec=int(ns // _NS), nanosec=int(ns % _NS))


def ns_from_stamp(stamp: Time) -> int:
    return int(stamp.sec) * _NS + int(stamp.nanosec)


def header(stamp_ns: int, frame_id: str = "") -> Header:
    return Header(stamp=stamp_from_ns(stamp_ns), frame_id=frame_id)


def joint_state(names: Sequence[str], positions: Sequence[float], stamp_ns: int,
                velocities: Sequence[float] = (), efforts: Sequence[float] = (),
                frame_id: str = "") -> JointState:
    """A JointState built in one constructor call (field-by-field assignment is slower)."""
    return JointState(header=header(stamp_ns, frame_id), name=list(names),
                      position=[float(p) for p in positions],
                      velocity=[float(v) for v in velocities],
                      effort=[float(e) for e in efforts])


DIAGNOSTIC_LEVELS = {"OK": DiagnosticStatus.OK, "WARN": DiagnosticStatus.WARN,
                     "ERROR": DiagnosticStatus.ERROR, "STALE": DiagnosticStatus.STALE}


def diagnostic_status(name: str, hardware_id: str, level: str, message: str,
                      values: dict | None = None) -> DiagnosticStatus:
    """level is one of OK, WARN, ERROR, STALE; values become string key/value pairs."""
    return DiagnosticStatus(level=DIAGNOSTIC_LEVELS[level], name=name, message=message,
                            hardware_id=hardware_id,
                            values=[KeyValue(key=str(k), value=str(v))
                                    for k, v in (values or {}).items()])


def spin_until_shutdown(node, executor=None) -> None:
    """Spin until Ctrl-C or an external shutdown, quietly.

    A SIGINT can invalidate the context while the executor is building its wait set, which
    surfaces as an RCLError instead of ExternalShutdownException; that is a normal shutdown.
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException

    try:
        if executor is None:
            rclpy.spin(node)
        else:
            executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        if node.context.ok():
            raise
