"""`lad bench latent`: how long a full two-stage training of each shipped setup takes.

By default it times 2 epochs of each stage at the setup's real batch size, data size and
network, and extrapolates linearly to the configured epochs (the per-step cost does not
change during training). `--full` instead runs the complete trainings and reports measured
time. Data generation (retargeting, ~40 s for 42k tuples) is not included: the timed data are
synthetic tuples of the same shapes, since the step cost does not depend on their values.
Last line: `latent human_faive_gripper_s=… mimic_gripper_s=…`.
"""
from __future__ import annotations

import argparse
import time

import torch

from lad_ros.latent.setup_config import load_setup
from lad_ros.latent.synthetic import synthetic_aligned
from lad_ros.latent.training import steps_per_epoch, train

SETUPS = ("human_faive_gripper", "mimic_gripper")
BUDGET_S = 600.0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full", action="store_true", help="run the complete trainings")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per stage when sampling")
    parser.add_argument("--threads", type=int, default=1)


def time_setup(name: str, sample_epochs: int | None) -> dict:
    setup = load_setup(name)
    data = synthetic_aligned(setup.train_samples, setup.train_seed)
    spe = steps_per_epoch(setup.train_samples, setup.training.batch_size)
    full = (setup.training.encoder_epochs, setup.training.decoder_epochs)
    timed = full if sample_epochs is None else (min(sample_epochs, full[0]),
                                                 min(sample_epochs, full[1]))
    started, cpu_started = time.perf_counter(), time.process_time()
    result = train(setup.with_epochs(*timed), data)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    per_step = (result.seconds["encoders"] / (timed[0] * spe),
                result.seconds["decoders"] / (timed[1] * spe))
    total = full[0] * spe * per_step[0] + full[1] * spe * per_step[1]
    # CPU seconds of this process: what the training costs without the other tenants' load
    # (with one torch thread it is the wall time of an idle machine).
    cpu_total = cpu * total / wall
    return {"setup": name, "batch": setup.training.batch_size, "steps_per_epoch": spe,
            "epochs": full, "timed_epochs": timed, "ms_per_step": [1e3 * p for p in per_step],
            "wall_s": wall, "total_s": total, "cpu_total_s": cpu_total,
            "extrapolated": timed != full}


def run(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    rows = [time_setup(name, None if args.full else args.epochs) for name in SETUPS]
    print("| setup | batch | steps/epoch | epochs A/B | timed epochs A/B | ms/step A | "
          "ms/step B | full training s (wall) | same in CPU s | how |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        how = "extrapolated" if r["extrapolated"] else "measured"
        print(f"| {r['setup']} | {r['batch']} | {r['steps_per_epoch']} | "
              f"{r['epochs'][0]}/{r['epochs'][1]} | {r['timed_epochs'][0]}/{r['timed_epochs'][1]}"
              f" | {r['ms_per_step'][0]:.1f} | {r['ms_per_step'][1]:.1f} | {r['total_s']:.0f} |"
              f" {r['cpu_total_s']:.0f} |"
              f" {how} |")
    print(f"\nbudget: {BUDGET_S:.0f} s per full training on 2 CPU cores, torch threads "
          f"{torch.get_num_threads()}; timings on a shared machine are noisy")
    print("latent " + " ".join(f"{r['setup']}_s={r['total_s']:.0f}" for r in rows))
    return 0
