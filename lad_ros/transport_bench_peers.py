"""The two processes of `lad bench transport`: an image publisher and an image subscriber.

    python -m lad_ros.transport_bench_peers publish --seconds 10 --rate 30 --build construct
    python -m lad_ros.transport_bench_peers subscribe --expect 300

Each prints one JSON line with its measurements when it is done. The sequence number travels in
header.frame_id ("bench <n>"), the send time in header.stamp (taken before the Image is built,
as a camera stamps capture time before building its message).
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

BUILDS = ("construct", "assign")


def build_image(pixels: np.ndarray, stamp_ns: int, sequence: int, build: str):
    """'construct': data= in the constructor (lad_ros's path); 'assign': bytes set afterwards."""
    from sensor_msgs.msg import Image

    from lad_ros.nodes.camera_messages import image_message
    from lad_ros.nodes.ros_common import header
    frame_id = f"bench {sequence}"
    if build == "construct":
        return image_message(pixels, stamp_ns, frame_id)
    height, width = pixels.shape[:2]
    message = Image(header=header(stamp_ns, frame_id), height=height, width=width,
                    encoding="rgb8", step=width * 3)
    message.data = pixels.tobytes()
    return message


def publish(args) -> dict:
    import rclpy
    from sensor_msgs.msg import Image

    from lad_ros.nodes.ros_common import QOS_IMAGES

    rclpy.init()
    node = rclpy.create_node("transport_bench_publisher")
    publisher = node.create_publisher(Image, args.topic, QOS_IMAGES)
    deadline = time.monotonic() + args.discovery_timeout
    while publisher.get_subscription_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    matched = publisher.get_subscription_count() > 0
    time.sleep(1.0)  # let the subscriber's side of discovery finish too: best effort drops early
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (args.height, args.width, 3), dtype=np.uint8)
              for _ in range(4)]
    count = int(round(args.seconds * args.rate))
    period = 1.0 / args.rate
    build_ms, publish_ms, late = [], [], 0
    start = next_due = time.monotonic()
    for sequence in range(count):
        wait = next_due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            late += 1
        next_due += period
        stamp_ns = time.time_ns()
        t0 = time.perf_counter()
        message = build_image(frames[sequence % len(frames)], stamp_ns, sequence, args.build)
        t1 = time.perf_counter()
        publisher.publish(message)
        t2 = time.perf_counter()
        build_ms.append((t1 - t0) * 1e3)
        publish_ms.append((t2 - t1) * 1e3)
    elapsed = time.monotonic() - start
    node.destroy_node()
    rclpy.try_shutdown()
    return {"role": "publish", "matched": matched, "published": count, "late": late,
            "publish_hz": (count - 1) / elapsed if elapsed > 0 else 0.0,
            "build_ms": float(np.mean(build_ms)), "publish_ms": float(np.mean(publish_ms))}


def subscribe(args) -> dict:
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from sensor_msgs.msg import Image

    from lad_ros.nodes.ros_common import QOS_IMAGES, ns_from_stamp

    rclpy.init()
    node = rclpy.create_node("transport_bench_subscriber")
    received = []  # (sequence, receive time ns, stamp ns, receive monotonic)

    def on_image(message: Image) -> None:
        now_ns = time.time_ns()
        received.append((int(message.header.frame_id.split()[1]), now_ns,
                         ns_from_stamp(message.header.stamp), time.monotonic()))

    node.create_subscription(Image, args.topic, on_image, QOS_IMAGES)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        executor.spin_once(timeout_sec=0.1)
        if received and (received[-1][0] >= args.expect - 1
                         or time.monotonic() - received[-1][3] > args.idle_timeout):
            break
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown()
    return {"role": "subscribe",
            "sequences": [r[0] for r in received],
            "latency_ms": [(r[1] - r[2]) / 1e6 for r in received],
            "arrival_s": [r[3] - received[0][3] for r in received] if received else []}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    roles = parser.add_subparsers(dest="role", required=True)
    pub = roles.add_parser("publish")
    pub.add_argument("--topic", default="/lad/bench/image_raw")
    pub.add_argument("--seconds", type=float, default=10.0)
    pub.add_argument("--rate", type=float, default=30.0)
    pub.add_argument("--width", type=int, default=640)
    pub.add_argument("--height", type=int, default=480)
    pub.add_argument("--build", choices=BUILDS, default="construct")
    pub.add_argument("--discovery-timeout", type=float, default=20.0)
    sub = roles.add_parser("subscribe")
    sub.add_argument("--topic", default="/lad/bench/image_raw")
    sub.add_argument("--expect", type=int, required=True)
    sub.add_argument("--timeout", type=float, default=120.0)
    sub.add_argument("--idle-timeout", type=float, default=3.0)
    args = parser.parse_args(argv)
    result = publish(args) if args.role == "publish" else subscribe(args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
