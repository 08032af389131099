"""`lad latent-eval MODEL_DIR`: SR/CR of a trained model on regenerated held-out data.

The held-out set is regenerated with the seed and size recorded in the model's JSON (or the
ones given), so the numbers can be compared with the recorded ones. The last line is
`latent setup=… sr=… cr=…` with the worst SR and the worst CR.
"""
from __future__ import annotations

import argparse
import sys

from lad_ros.config import ConfigError
from lad_ros.latent import metrics
from lad_ros.latent.api import LatentActionModel
from lad_ros.latent.data import SOURCES, aligned
from lad_ros.latent.train_command import units


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", help="e.g. models/latent/mimic_gripper")
    parser.add_argument("--data", choices=SOURCES, help="default: the source it was trained on")
    parser.add_argument("--n", type=int, help="held-out tuples (default: as recorded)")
    parser.add_argument("--seed", type=int, help="held-out seed (default: as recorded)")


def heldout(model: LatentActionModel, source: str | None = None, n: int | None = None,
            seed: int | None = None) -> dict:
    """The held-out tuples regenerated as recorded in the model (or as overridden)."""
    recorded = model.meta["metrics"]
    return aligned(source or recorded["heldout_source"], n or recorded["heldout_samples"],
                   recorded["heldout_seed"] if seed is None else seed)


def run(args: argparse.Namespace) -> int:
    try:
        model = LatentActionModel.load(args.model_dir)
    except ConfigError as error:
        print(f"lad latent-eval: {error}", file=sys.stderr)
        return 2
    matrix = metrics.reconstruction_matrix(model, heldout(model, args.data, args.n, args.seed))
    recorded = metrics.from_json(model.meta["metrics"]["reconstruction"])
    print(f"## {model.setup}: held-out SR/CR (eq. 7), rows encode, columns decode\n")
    print(metrics.markdown_table(matrix, units(model.embodiments)))
    print("\n| pair | measured | recorded at training |\n|---|---|---|")
    for key, value in matrix.items():
        print(f"| {'SR ' + key[0] if key[0] == key[1] else 'CR ' + '→'.join(key)} | "
              f"{value:.4g} | {recorded.get(key, float('nan')):.4g} |")
    print(metrics.summary_line(model.setup, matrix))
    return 0
