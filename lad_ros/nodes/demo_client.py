"""The rclpy side of `lad sim-demo`: send a hand trajectory and an arm Path, watch the result."""
from __future__ import annotations

import threading
import time

import numpy as np
import rclpy
from builtin_interfaces.msg import Duration
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from geometry_msgs.msg import Point, Pose, PoseStamped
from nav_msgs.msg import Path
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from sensor_msgs.msg import JointState
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint

from lad_ros.nodes.ros_common import QOS_COMMANDS, QOS_STATE, header, ns_from_stamp
from lad_ros.sim_demo import ARM_TOLERANCE_M, HAND_TOLERANCE, arm_square, hand_motion

_LEVELS = {DiagnosticStatus.OK: "OK", DiagnosticStatus.WARN: "WARN",
           DiagnosticStatus.ERROR: "ERROR", DiagnosticStatus.STALE: "STALE"}


class DemoClient:
    def __init__(self, context: Context):
        self.node = rclpy.create_node("lad_sim_demo", context=context)
        self.hand: JointState | None = None
        self.pose: PoseStamped | None = None
        self.diagnostics: dict[str, tuple[str, str]] = {}
        self.node.create_subscription(JointState, "/lad/hand/joint_states",
                                      lambda m: setattr(self, "hand", m), QOS_STATE)
        self.node.create_subscription(PoseStamped, "/lad/arm/ee_pose",
                                      lambda m: setattr(self, "pose", m), QOS_STATE)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        self.hand_pub = self.node.create_publisher(JointTrajectory, "/lad/hand/trajectory",
                                                   QOS_COMMANDS)
        self.arm_pub = self.node.create_publisher(Path, "/lad/arm/trajectory", QOS_COMMANDS)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def _on_diagnostics(self, message: DiagnosticArray) -> None:
        for status in message.status:
            self.diagnostics[status.name] = (_LEVELS.get(status.level, "?"), status.message)

    def now_ns(self) -> int:
        return self.node.get_clock().now().nanoseconds

    def wait_for(self, predicate, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def send_hand(self, names, points, start_ns: int) -> None:
        self.hand_pub.publish(JointTrajectory(
            header=header(start_ns), joint_names=list(names),
            points=[JointTrajectoryPoint(positions=[float(v) for v in values],
                                         time_from_start=Duration(sec=int(t),
                                                                  nanosec=int(t % 1 * 1e9)))
                    for t, values in points]))

    def send_arm(self, points, orientation, start_ns: int, frame_id: str) -> None:
        poses = [PoseStamped(header=header(start_ns + int(t * 1e9), frame_id),
                             pose=Pose(position=Point(x=float(p[0]), y=float(p[1]),
                                                      z=float(p[2])),
                                       orientation=orientation))
                 for t, p in points]
        self.arm_pub.publish(Path(header=header(start_ns, frame_id), poses=poses))

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


def _drive(client: DemoClient, embodiment: str, timeout_s: float) -> int:
    if not client.wait_for(lambda: client.hand is not None and client.pose is not None,
                           timeout_s):
        print(f"the cell did not come up within {timeout_s:.0f} s "
              f"(hand state: {client.hand is not None}, arm pose: {client.pose is not None})")
        return 1
    motion = hand_motion(embodiment)
    start = client.pose.pose.position
    start_xyz = np.array([start.x, start.y, start.z])
    square = arm_square(start_xyz)
    begin_ns = client.now_ns()
    end_s = max(motion.duration_s, square[-1][0]) + 1.5
    grasp = motion.points[1][1]
    hand_excursion = 0.0  # largest share of the way from open to grasp, along the grasp direction
    arm_peak_m = 0.0
    # Re-sent like a planner streams chunks: the points keep their absolute times, so the
    # followers' watchdog stays fed and the newest copy simply replaces the last one.
    last_point_s = max(motion.duration_s, square[-1][0])
    while client.now_ns() - begin_ns < end_s * 1e9:
        if client.now_ns() - begin_ns < (last_point_s - 0.3) * 1e9:  # never resend a past chunk
            client.send_hand(motion.names, motion.points, begin_ns)
            client.send_arm(square, client.pose.pose.orientation, begin_ns,
                            client.pose.header.frame_id)
        time.sleep(0.1)
        measured = dict(zip(client.hand.name, client.hand.position))
        travel = np.array([measured[n] for n in motion.names]) - motion.final
        direction = grasp - motion.final
        hand_excursion = max(hand_excursion, float(travel @ direction / (direction @ direction)))
        p = client.pose.pose.position
        arm_peak_m = max(arm_peak_m, float(np.linalg.norm(np.array([p.x, p.y, p.z])
                                                          - start_xyz)))

    measured = dict(zip(client.hand.name, client.hand.position))
    hand_error = float(np.max(np.abs(np.array([measured[n] for n in motion.names])
                                     - motion.final)))
    reached = client.pose.pose.position
    arm_error = float(np.linalg.norm(np.array([reached.x, reached.y, reached.z])
                                     - square[-1][1]))
    arm_excursion = arm_peak_m / max(np.linalg.norm(c - start_xyz) for _, c in square)
    latency_ms = (client.now_ns() - ns_from_stamp(client.hand.header.stamp)) / 1e6
    print("\n| what | asked | reached | error | ok |\n|---|---|---|---|---|")
    print(f"| {embodiment} hand: share of the grasp reached | 1.0 | {hand_excursion:.2f} | "
          f"| {hand_excursion > 0.8} |")
    print(f"| arm: share of the square's diagonal reached | 1.0 | {arm_excursion:.2f} | "
          f"| {arm_excursion > 0.8} |")
    print(f"| {embodiment} hand: open -> grasp -> open | {motion.final.round(2).tolist()} "
          f"| {np.array([measured[n] for n in motion.names]).round(2).tolist()} "
          f"| {hand_error:.3f} | {hand_error < HAND_TOLERANCE} |")
    print(f"| arm: 6 cm square, back to start | {square[-1][1].round(3).tolist()} "
          f"| {[round(reached.x, 3), round(reached.y, 3), round(reached.z, 3)]} "
          f"| {arm_error * 1000:.1f} mm | {arm_error < ARM_TOLERANCE_M} |")
    print("\n| diagnostics | level | message |\n|---|---|---|")
    for name, (level, message) in sorted(client.diagnostics.items()):
        print(f"| {name} | {level} | {message} |")
    print(f"\nsim-demo embodiment={embodiment} hand_err={hand_error:.3f} "
          f"arm_err_mm={arm_error * 1000:.1f} hand_reach={hand_excursion:.2f} "
          f"arm_reach={arm_excursion:.2f} hand_state_age_ms={latency_ms:.1f}")
    ok = (hand_error < HAND_TOLERANCE and arm_error < ARM_TOLERANCE_M
          and hand_excursion > 0.8 and arm_excursion > 0.8)
    return 0 if ok else 1


def run_demo(embodiment: str, launch: bool = True, timeout_s: float = 90.0,
             robot_ip: str = "127.0.0.1") -> int:
    from lad_ros.launch_plan import cell_plan
    from lad_ros.launch_runner import PlanRunner

    plan = cell_plan(embodiment, sim=True, sim_robot_ip=robot_ip)
    runner = PlanRunner(plan).start() if launch else None
    context = Context()
    rclpy.init(context=context)
    client = DemoClient(context)
    try:
        return _drive(client, embodiment, timeout_s)
    finally:
        client.close()
        context.try_shutdown()
        if runner is not None:
            runner.stop()
