"""`lad train-latent CONFIG [--ablation]`: two-stage training of a latent action model.

Trains on freshly retargeted aligned tuples (train seed), reports SR/CR on a held-out set
(a different seed), writes loss curves, and saves the model to models/latent/<setup>/.
With --ablation it also trains the Table 1 variants on the same data and prints their rows.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import time
from pathlib import Path

import torch

from lad_ros.config import ConfigError
from lad_ros.latent import experiment, metrics
from lad_ros.latent.data import SOURCES, split
from lad_ros.latent.plots import loss_curves
from lad_ros.latent.setup_config import load_setup
from lad_ros.latent.store import UNITS
from lad_ros.embodiment import KNOWN_EMBODIMENTS, resolve

WITHOUT_CROSS = "w/o CR (paper's loss)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="setup name (config/latent/<name>.yaml) or YAML path")
    parser.add_argument("--ablation", action="store_true",
                        help="also train w/o TA, w/o FT, w/o both and print the Table 1 rows")
    parser.add_argument("--data", choices=SOURCES, default="retarget",
                        help="aligned tuples: retargeted (default) or the synthetic test world")
    parser.add_argument("--model-dir", help="where to save (default: models/latent/<setup>)")
    parser.add_argument("--no-save", action="store_true", help="train and report only")
    parser.add_argument("--out", default="out/latent", help="directory for plots and tables")
    parser.add_argument("--epochs-scale", type=float, default=1.0,
                        help="multiply both stages' epochs (to see what scaling does)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 is fastest on a shared 2-core machine)")
    parser.add_argument("--seed", type=int, default=0, help="initialization/shuffle seed")
    parser.add_argument("--no-progress", action="store_true")


def units(names) -> dict[str, str]:
    return {n: UNITS[KNOWN_EMBODIMENTS[n]["kind"]] for n in names}


def run(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    try:
        setup = load_setup(args.config)
    except ConfigError as error:
        print(f"lad train-latent: {error}", file=sys.stderr)
        return 2
    if args.epochs_scale != 1.0:
        setup = setup.with_epochs(max(1, round(setup.training.encoder_epochs * args.epochs_scale)),
                                  max(1, round(setup.training.decoder_epochs * args.epochs_scale)))
    progress = not args.no_progress
    started = time.perf_counter()
    train_data, heldout = split(setup, args.data, progress)
    data_seconds = time.perf_counter() - started
    print(f"data: {setup.train_samples} train (seed {setup.train_seed}) + "
          f"{setup.heldout_samples} held-out (seed {setup.heldout_seed}) tuples from "
          f"{args.data} in {data_seconds:.1f} s", flush=True)
    configured = (setup.training.anneal_temperature, setup.training.finetune_encoders)
    # The configured run is the shipped one; --ablation adds the Table 1 variants (full = TA +
    # FT), reusing the configured run for the variant with the same switches.
    # With cross-reconstruction configured, --ablation also runs the configured switches
    # without it (the paper's stage-B loss).
    variants = [("as configured", *configured)]
    if args.ablation:
        variants += [v for v in experiment.ABLATIONS if v[1:] != configured]
        if setup.cross_reconstruction_weight:
            variants.append((WITHOUT_CROSS, *configured))
    runs = {}
    out = Path(args.out)
    for label, anneal, finetune in variants:
        variant = setup.with_ablation(anneal_temperature=anneal, finetune_encoders=finetune)
        if label == WITHOUT_CROSS:
            variant = dataclasses.replace(variant, cross_reconstruction_weight=0.0)
        runs[label] = experiment.run(variant, train_data, heldout, seed=args.seed,
                                     progress=progress)
        tag = re.sub(r"\W+", "_", label.replace("/", "")).strip("_")  # "wo_CR_paper_s_loss"
        plot = loss_curves(runs[label].result.history, f"{setup.setup} ({label})",
                           out / f"{setup.setup}_{tag}_loss.png")
        print(f"{label}: trained in {runs[label].train_seconds:.1f} s "
              f"({runs[label].result.seconds}); loss curves: {plot}", flush=True)
        if label == "as configured" and not args.no_save:  # ships before the ablations run
            model_dir = resolve(args.model_dir or f"models/latent/{setup.setup}")
            experiment.save(runs[label], model_dir, args.data, data_seconds, args.seed)
            print(f"saved {model_dir}", flush=True)
    shipped = runs["as configured"]
    print(f"\n## {setup.setup}: held-out SR/CR (eq. 7), {setup.heldout_samples} tuples\n")
    print(metrics.markdown_table(shipped.matrix, units(shipped.model.embodiments)))
    if args.ablation:
        by_switches = {(a, f): runs.get(label) for label, a, f in variants
                       if label != WITHOUT_CROSS}
        rows = {label: by_switches[(a, f)] for label, a, f in experiment.ABLATIONS}
        if WITHOUT_CROSS in runs:
            rows[WITHOUT_CROSS] = runs[WITHOUT_CROSS]
        table = experiment.ablation_table(rows)
        print(f"\n## {setup.setup}: ablations (Table 1 rows)\n\n{table}")
        (out / f"{setup.setup}_ablation.md").write_text(table + "\n")
    print(metrics.summary_line(setup.setup, shipped.matrix) + f" train_s={shipped.train_seconds:.1f}")
    return 0
