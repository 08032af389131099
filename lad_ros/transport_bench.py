"""`lad bench transport`: 640x480 rgb8 Images at 30 Hz from one process to another through rclpy.

Reports the rate the subscriber achieved, the images it never got (sequence numbers) and the
milliseconds from stamp (taken before the Image is built) to the subscriber's callback, for
lad_ros's construction path and, for comparison, bytes assigned after construction, each with
the generated messages' field checks off (Jazzy/Kilted default) and on (Humble always,
ROS_PYTHON_CHECK_FIELDS=1 later), and once without the large-image Fast DDS profile the
camera nodes load (lad_ros/image_transport.py).
Last line: `transport hz=… drops=… ms_per_msg=…` (main row).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

import numpy as np

from lad_ros.image_transport import PROFILE_VARIABLES, use_large_image_profile

TARGET_HZ = 30.0


@dataclass(frozen=True)
class Variant:
    build: str           # construct | assign
    check_fields: bool   # ROS_PYTHON_CHECK_FIELDS=1 in the publisher
    seconds: float
    large_image_profile: bool = True  # the publisher loads config/fastdds_large_images.xml

    @property
    def label(self) -> str:
        checks = "checks on" if self.check_fields else "checks off"
        dds = "" if self.large_image_profile else ", default Fast DDS transports"
        return f"{self.build} ({checks}{dds})"


@dataclass(frozen=True)
class Result:
    variant: Variant
    published: int
    received: int
    drops: int
    hz: float
    ms_per_msg: float
    p95_ms: float
    build_ms: float
    publish_hz: float


def summarize(variant: Variant, publisher: dict, subscriber: dict) -> Result:
    """Numbers from the two processes' reports (pure: tested without ROS)."""
    sequences = set(subscriber["sequences"])
    arrivals, latencies = subscriber["arrival_s"], subscriber["latency_ms"]
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    return Result(variant=variant, published=publisher["published"], received=len(sequences),
                  drops=publisher["published"] - len(sequences),
                  hz=(len(arrivals) - 1) / span if span > 0 else 0.0,
                  ms_per_msg=float(np.mean(latencies)) if latencies else float("nan"),
                  p95_ms=float(np.percentile(latencies, 95)) if latencies else float("nan"),
                  build_ms=publisher["build_ms"], publish_hz=publisher["publish_hz"])


def _peer(role_args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lad_ros.transport_bench_peers", *role_args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _report(process: subprocess.Popen, timeout_s: float) -> dict:
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"bench peer failed (exit {process.returncode}): {stderr[-2000:]}")
    return json.loads(lines[-1])


def run_variant(variant: Variant, rate: float, width: int, height: int) -> Result:
    env = dict(os.environ)
    env.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    topic = f"/lad/bench/image_raw_{os.getpid()}"  # concurrent benches never mix
    expect = int(round(variant.seconds * rate))
    subscriber = _peer(["subscribe", "--topic", topic, "--expect", str(expect)], env)
    publisher_env = dict(env, ROS_PYTHON_CHECK_FIELDS="1" if variant.check_fields else "0")
    if variant.large_image_profile:
        use_large_image_profile(publisher_env)
    else:
        for name in PROFILE_VARIABLES:
            publisher_env.pop(name, None)
    publisher = _peer(["publish", "--topic", topic, "--seconds", str(variant.seconds),
                       "--rate", str(rate), "--width", str(width), "--height", str(height),
                       "--build", variant.build], publisher_env)
    timeout_s = 60.0 + 20.0 * variant.seconds
    published = _report(publisher, timeout_s)
    received = _report(subscriber, timeout_s)
    if not published["matched"]:
        raise RuntimeError("the publisher never saw the subscriber (ROS discovery failed)")
    return summarize(variant, published, received)


def table(results: list[Result], rate: float) -> str:
    rows = ["| build path | published | received | drops | publish Hz | received Hz "
            "| build ms/msg | stamp-to-receive ms (mean) | (p95) |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| {r.variant.label} | {r.published} | {r.received} | {r.drops} "
                    f"| {r.publish_hz:.1f} | {r.hz:.1f} | {r.build_ms:.2f} | {r.ms_per_msg:.2f} "
                    f"| {r.p95_ms:.2f} |")
    rows.append(f"\ntarget: >= {rate:g} Hz received, 0 drops (main row: construct, checks off)")
    return "\n".join(rows)


def configure(parser) -> None:
    parser.add_argument("--seconds", type=float, default=10.0, help="main run length")
    parser.add_argument("--rate", type=float, default=TARGET_HZ)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--compare-seconds", type=float, default=3.0,
                        help="length of each comparison run (0: main run only)")


def run(args) -> int:
    variants = [Variant("construct", False, args.seconds)]
    if args.compare_seconds > 0:
        variants += [Variant("construct", False, args.compare_seconds, False),
                     Variant("construct", True, args.compare_seconds),
                     Variant("assign", False, args.compare_seconds),
                     Variant("assign", True, args.compare_seconds)]
    print(f"# transport: {args.width}x{args.height} rgb8 at {args.rate:g} Hz, publisher and "
          f"subscriber in separate processes, {os.environ.get('RMW_IMPLEMENTATION', 'default rmw')}"
          , flush=True)
    results = [run_variant(v, args.rate, args.width, args.height) for v in variants]
    print(table(results, args.rate))
    main = results[0]
    print(f"transport hz={main.hz:.1f} drops={main.drops} ms_per_msg={main.ms_per_msg:.2f}")
    return 0 if main.received > 0 else 1
