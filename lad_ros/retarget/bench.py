"""`lad bench retarget`: streaming ms/frame, batch poses/s and keyvector matching error.

Streaming: a smooth human trajectory (interpolated between held-out synthetic poses, 30 frames
per transition) goes frame by frame through StreamingRetargeter; wall-clock and CPU time per
frame are reported (on a shared machine wall time includes waiting for a core). Batch: one
`retarget` call on the held-out set. Keyvector error: ‖s_i v_i^R − v_i^H‖ over all 15 keyvectors
of the held-out set, in mm. The held-out set uses its own seed, never the dataset default (0).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from lad_ros.retarget.human import POSE_FAMILIES, HumanHandModel
from lad_ros.retarget.keyvectors import KEYVECTOR_NAMES, human_keyvectors
from lad_ros.retarget.retargeter import GripperRetargeter, HandRetargeter, StreamingRetargeter

HANDS = ("faive", "mimic")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--batch", type=int, default=4000, help="held-out poses (batch + error)")
    parser.add_argument("--waypoints", type=int, default=21,
                        help="streaming: poses the trajectory passes through")
    parser.add_argument("--frames-per-move", type=int, default=30)
    parser.add_argument("--seed", type=int, default=20240)
    parser.add_argument("--suggest-scales", action="store_true",
                        help="also print least-squares scale factors s_i = <v_H, v_R>/<v_R, v_R> "
                             "on the held-out set (how config/retarget/*.yaml were set)")


def streaming_trajectory(model: HumanHandModel, waypoints: int, frames_per_move: int,
                         rng: np.random.Generator) -> np.ndarray:
    families = rng.integers(0, len(POSE_FAMILIES), waypoints).astype(np.int16)
    angles = model.close_pinches(model.sample_angles(families, rng), families, rng)
    path = np.concatenate([np.linspace(angles[i], angles[i + 1], frames_per_move, endpoint=False)
                           for i in range(waypoints - 1)])
    return model.keypoints(path)


def time_streaming(retargeter: HandRetargeter, frames: np.ndarray) -> tuple[np.ndarray, ...]:
    """Wall and CPU ms per frame, and the largest joint change per frame (rad)."""
    stream = StreamingRetargeter(retargeter)
    outputs = [stream.step(frames[0])]  # solved from the initial guess; not part of the timing
    wall, cpu = [], []
    for frame in frames[1:]:
        w0, c0 = time.perf_counter(), time.thread_time()
        outputs.append(stream.step(frame))
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    jumps = np.abs(np.diff(outputs, axis=0)).max(axis=1)
    return np.array(wall) * 1e3, np.array(cpu) * 1e3, jumps


def keyvector_error_mm(retargeter: HandRetargeter, keypoints: np.ndarray,
                       joints: np.ndarray) -> np.ndarray:
    human = human_keyvectors(keypoints)
    return np.linalg.norm(retargeter.robot_keyvectors(joints) - human, axis=-1).ravel() * 1e3


def suggested_scales(retargeter: HandRetargeter, keypoints: np.ndarray,
                     joints: np.ndarray) -> np.ndarray:
    """Per keyvector, the s minimising Σ ‖v_H − s v_R‖² for the given retargeted joints."""
    human = human_keyvectors(keypoints)
    robot = retargeter.robot_keyvectors(joints) / retargeter.settings.scales[:, None]
    return (human * robot).sum(axis=(0, 2)) / (robot * robot).sum(axis=(0, 2))


def run(args: argparse.Namespace) -> int:
    rng = np.random.default_rng(args.seed)
    model = HumanHandModel()
    held_out, families = model.sample(args.batch, rng)
    frames = streaming_trajectory(model, args.waypoints, args.frames_per_move, rng)
    rows, summary = [], {}
    for hand in HANDS:
        retargeter = HandRetargeter.for_hand(hand)
        wall, cpu, jumps = time_streaming(retargeter, frames)
        start, cpu_start = time.perf_counter(), time.process_time()
        joints = retargeter.retarget(held_out)
        rate = len(held_out) / (time.perf_counter() - start)
        cpu_rate = len(held_out) / (time.process_time() - cpu_start)
        error = keyvector_error_mm(retargeter, held_out, joints)
        rows.append((hand, wall.mean(), np.percentile(wall, 95), cpu.mean(),
                     np.percentile(jumps, 99), rate, cpu_rate, error.mean(),
                     np.percentile(error, 95)))
        summary[hand] = (wall.mean(), error.mean())
        if args.suggest_scales:
            scales = suggested_scales(retargeter, held_out, joints)
            print(f"# {hand} suggested scales: " + ", ".join(
                f"{name} {value:.2f}" for name, value in zip(KEYVECTOR_NAMES, scales)))
    widths = GripperRetargeter().retarget(held_out)[:, 0]
    pinch = widths[families == POSE_FAMILIES.index("pinch_index")]
    open_ = widths[families == POSE_FAMILIES.index("open")]

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"# retarget: {len(frames) - 1} streaming frames, {len(held_out)} held-out poses "
          f"(seed {args.seed}); targets: stream <= 1 ms/frame, batch >= 5000 poses/s; "
          f"{os.cpu_count()} cores, load average {load:.1f} (wall times include waiting for "
          f"a core, CPU columns do not)")
    print("| hand | stream ms/frame mean | p95 | stream CPU ms/frame | stream joint step p99 rad "
          "| batch poses/s | batch poses/CPU-s | keyvector error mm mean | p95 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for hand, mean, p95, cpu, jump, rate, cpu_rate, err, err95 in rows:
        print(f"| {hand} | {mean:.3f} | {p95:.3f} | {cpu:.3f} | {jump:.3f} | {rate:.0f} "
              f"| {cpu_rate:.0f} | {err:.2f} | {err95:.2f} |")
    print(f"\ngripper (W per config/retarget/franka_gripper.yaml): pinch_index mean "
          f"{pinch.mean():.2f} (max {pinch.max():.2f}, target < 0.2), open mean "
          f"{open_.mean():.2f} (min {open_.min():.2f}, target > 0.8)")
    print(f"retarget faive_ms={summary['faive'][0]:.3f} mimic_ms={summary['mimic'][0]:.3f} "
          f"faive_kv_mm={summary['faive'][1]:.2f} mimic_kv_mm={summary['mimic'][1]:.2f}")
    return 0
