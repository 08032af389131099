"""`lad bench policy`: chunk latency of PolicyRunner on this machine, split into image encoding
and denoising.

Models are the shipped configs at their real sizes (ResNet18, 240x320 images centre-cropped to
216x288) with random weights, saved and loaded through the normal model-directory path. Each
predict() gets one new camera frame, as at run time: the previous frame's features come from
the runner's cache.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
import time

import numpy as np

from lad_ros.embodiment import share_dir

CASES = (  # label, config file, latent dim, DDIM steps
    ("transformer", "faive_transformer.yaml", 16, 10),
    ("transformer", "faive_transformer.yaml", 16, 16),
    ("unet", "mimic_unet.yaml", 16, 10),
    ("unet", "mimic_unet.yaml", 16, 16),
)


def configure(parser) -> None:
    parser.add_argument("--iterations", type=int, default=10, help="chunks per case")
    parser.add_argument("--threads", type=int, help="torch threads (default: the config's)")
    parser.add_argument("--quick", action="store_true", help="only the two 10-step cases")
    parser.add_argument("--precision", choices=("auto", "float32", "bfloat16"),
                        help="inference precision (default: the config's)")
    parser.add_argument("--compile", choices=("config", "on", "off"), default="config",
                        help="torch.compile the networks (default: as the config says)")


def _random_model_dir(config, latent_dim: int, directory: str) -> str:
    import torch

    from lad_ros.policy.checkpoint import save_policy
    from lad_ros.policy.model import ARM_POSE_OBS_DIM, LatentDiffusionPolicy
    from lad_ros.policy.normalizer import Normalizer, RangeStats

    torch.manual_seed(0)
    model = LatentDiffusionPolicy(config, latent_dim)

    def unit(dim):
        return RangeStats(-np.ones(dim, np.float32), np.ones(dim, np.float32))

    stats = {e: {"latent": unit(latent_dim), "arm": unit(config.arm_dim),
                 "arm_pose_obs": unit(ARM_POSE_OBS_DIM)} for e in ("faive", "mimic")}
    save_policy(directory, model, Normalizer(stats), list(stats))
    return directory


def measure(label: str, config, latent_dim: int, iterations: int) -> dict:
    from lad_ros.policy.runner import PolicyRunner

    embodiment = "mimic" if any(c.embodiments for c in config.cameras) else "faive"
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        runner = PolicyRunner(_random_model_dir(config, latent_dim, directory), "cpu",
                              embodiment, seed=0)
        startup_s = time.perf_counter() - started
    rng = np.random.default_rng(0)
    height, width = config.image_size
    step_ns = int(1e9 / config.fps)
    pose = np.array([0.4, 0.0, 0.3, 1.0, 0.0, 0.0, 0.0], np.float32)
    timings = {"encode": [], "denoise": [], "total": [], "cpu": []}
    for i in range(iterations + 1):
        stamp = 1_000_000_000 + i * step_ns
        for camera, present in zip(config.cameras, runner.camera_present):
            if present:
                runner.push_image(camera.name, stamp,
                                  rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        runner.push_arm_pose(stamp, pose)
        cpu_start = time.process_time()
        chunk = runner.predict()
        cpu_ms = (time.process_time() - cpu_start) * 1e3
        if i:  # the first chunk encodes both history frames; steady state encodes one
            for key in ("encode", "denoise", "total"):
                timings[key].append(chunk.timings_ms[key])
            timings["cpu"].append(cpu_ms)
    cameras = sum(runner.camera_present)
    return {"label": label, "steps": runner.inference_steps,
            "precision": str(runner.dtype).replace("torch.", ""), "horizon": config.horizon,
            "action": f"{latent_dim}+{config.arm_dim}", "cameras": cameras,
            "compiled": runner.networks.compiled, "startup_s": startup_s,
            **{f"{k}_p50": float(np.percentile(v, 50)) for k, v in timings.items()},
            **{f"{k}_p90": float(np.percentile(v, 90)) for k, v in timings.items()}}


def run(args) -> int:
    import torch

    from lad_ros.policy.config import load_policy_config

    rows = []
    for label, file, latent_dim, steps in CASES:
        if args.quick and steps != 10:
            continue
        config = load_policy_config(share_dir() / "config" / "policy" / file)
        config = dataclasses.replace(
            config, diffusion=dataclasses.replace(config.diffusion, inference_steps=steps),
            threads=args.threads or config.threads,
            precision=args.precision or config.precision,
            compile=config.compile if args.compile == "config" else args.compile == "on")
        rows.append(measure(label, config, latent_dim, args.iterations))
    load = os.getloadavg()[0]
    first = load_policy_config(share_dir() / "config" / "policy" / CASES[0][1])
    print(f"\nCPU, torch {torch.__version__}, {args.threads or first.threads} threads encoding / "
          f"{first.denoise_threads} denoising, "
          f"{rows[0]['precision']}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, "
          f"{args.iterations} chunks per row, load average {load:.2f} at the end "
          f"(shared machine: expect noise). CPU ms = processor time of the chunk, summed over "
          f"threads: with 1 thread, about the wall time an idle machine would show.\n")
    print("| denoiser | horizon | action dims | cameras | DDIM steps | compiled (start-up s) "
          "| encode p50 / p90 ms | denoise p50 / p90 ms | chunk p50 / p90 ms "
          "| chunk CPU ms p50 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        compiled = f"{'yes' if r['compiled'] else 'no'} ({r['startup_s']:.0f})"
        print(f"| {r['label']} | {r['horizon']} | {r['action']} | {r['cameras']} | {r['steps']} "
              f"| {compiled} "
              f"| {r['encode_p50']:.1f} / {r['encode_p90']:.1f} "
              f"| {r['denoise_p50']:.1f} / {r['denoise_p90']:.1f} "
              f"| {r['total_p50']:.1f} / {r['total_p90']:.1f} | {r['cpu_p50']:.1f} |")
    ten = {r["label"]: r["total_p50"] for r in rows if r["steps"] == 10}
    print(f"policy transformer_p50_ms={ten['transformer']:.1f} unet_p50_ms={ten['unet']:.1f}")
    return 0
