"""`lad train-policy CONFIG`: train a latent diffusion policy (see docs/policy.md)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from lad_ros.config import ConfigError
from lad_ros.policy.config import load_policy_config


def configure(parser) -> None:
    parser.add_argument("config",
                        help="policy config YAML (e.g. config/policy/faive_transformer.yaml)")
    parser.add_argument("--run-dir", help="output directory (default: out/policy/<name>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from <run-dir>/checkpoint when it exists")
    parser.add_argument("--steps", type=int, help="override train.steps")
    parser.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from lad_ros.policy.runner import pick_device
    from lad_ros.policy.train import train_policy

    try:
        config = load_policy_config(args.config)
        if args.steps is not None:
            if args.steps < 1:
                raise ConfigError("--steps", "steps", "an integer >= 1", args.steps)
            config = dataclasses.replace(
                config, train=dataclasses.replace(config.train, steps=args.steps))
        run_dir = Path(args.run_dir or Path("out") / "policy" / config.name)
        result = train_policy(config, args.config, run_dir, resume=args.resume,
                              progress=not args.no_progress, device=str(pick_device(args.device)))
    except ConfigError as error:
        print(f"ERROR {error}")
        return 1
    losses = result.losses
    if losses:
        tail = losses[-min(100, len(losses)):]
        print(f"trained {result.steps} steps; loss {losses[0]:.4f} -> {sum(tail) / len(tail):.4f} "
              f"(mean of the last {len(tail)})")
    print(f"policy: {result.model_dir}  (loss curve: {result.run_dir / 'loss.png'})")
    return 0
