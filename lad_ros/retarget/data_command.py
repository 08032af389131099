"""`lad retarget-data --n N --out FILE [--seed S]`: synthetic human poses → aligned tuples."""
from __future__ import annotations

import argparse
import sys
import time

from lad_ros.config import ConfigError


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, required=True, help="number of aligned tuples")
    parser.add_argument("--out", required=True, help="output .npz file")
    parser.add_argument("--seed", type=int, default=0, help="random seed (output is a function "
                        "of seed, n and the config files)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from lad_ros.retarget.dataset import generate_aligned, generation_meta, save_aligned
    if args.n < 1:
        print("lad retarget-data: --n must be >= 1", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        data = generate_aligned(args.n, args.seed, progress=not args.no_progress)
    except ConfigError as error:
        print(f"lad retarget-data: {error}", file=sys.stderr)
        return 1
    save_aligned(args.out, data, generation_meta(args.seed, args.n))
    print(f"wrote {args.n} aligned tuples (human, faive, mimic, franka_gripper) to {args.out} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0
