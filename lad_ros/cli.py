"""`lad`: the offline commands (data generation, training, evaluation, benchmarks).

Each command lives in its own module with `configure(parser)` and `run(args) -> int`; this file
only routes, and imports a command's module when that command runs so `lad --help` stays fast.
To add a command, add one line to COMMANDS (or BENCHMARKS for `lad bench NAME`).
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "check-config": ("lad_ros.config_check", "validate embodiment configs (shipped or given)"),
    "train-policy": ("lad_ros.policy.train_command", "train a latent diffusion policy"),
    "sim-demo": ("lad_ros.sim_demo", "start the simulated cell and drive its arm and hand"),
    "hand-zero": ("lad_ros.drivers.dynamixel_calibrate",
                  "print a Dynamixel hand's motor_zero_rad (joints at zero, torque off)"),
    "train-latent": ("lad_ros.latent.train_command", "train a latent action model (LAD stages 2-3)"),
    "latent-eval": ("lad_ros.latent.eval_command", "SR/CR of a latent model on held-out data"),
    "latent-figure": ("lad_ros.latent.figure", "gripper sweep decoded as hand poses (Fig. 2)"),
    "retarget-data": ("lad_ros.retarget.data_command", "synthetic human poses -> aligned (human, faive, mimic, gripper) tuples"),
    "retarget-figure": ("lad_ros.retarget.figure", "figure: human poses beside their Faive, mimic and gripper retargets"),
}

# `lad bench NAME`: each module's configure/run; `lad bench all` runs them in this order.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "policy": ("lad_ros.policy.bench", "policy chunk latency p50/p90 on CPU: image encoding + denoising"),
    "transport": ("lad_ros.transport_bench", "640x480 rgb8 images at 30 Hz between two processes"),
    "hand-bus": ("lad_ros.sim.dynamixel_bench", "Dynamixel bus cycle time on the pty simulator"),
    "retarget": ("lad_ros.retarget.bench", "streaming ms/frame, batch poses/s, keyvector error (Faive, mimic)"),
    "latent": ("lad_ros.latent.bench", "full two-stage latent model training time per setup"),
}



def _build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lad", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        if argv and argv[0] == name:
            importlib.import_module(module_name).configure(sub)
    bench = commands.add_parser("bench", help="benchmarks: print a table and a summary line")
    benches = bench.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    all_parser = benches.add_parser("all", help="run every benchmark in turn")
    all_parser.set_defaults(_module=None)
    for name, (module_name, help_text) in BENCHMARKS.items():
        sub = benches.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        if len(argv) > 1 and argv[0] == "bench" and argv[1] == name:
            importlib.import_module(module_name).configure(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _build_parser(argv).parse_args(argv)
    if args.command == "bench" and args.benchmark == "all":
        status = 0
        for name in BENCHMARKS:
            print(f"\n## lad bench {name}", flush=True)
            status |= main(["bench", name])
        return status
    return int(importlib.import_module(args._module).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
