"""One training run end to end: train, measure SR/CR on held-out data, package the model."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from lad_ros.latent import metrics, store
from lad_ros.latent.api import LatentActionModel
from lad_ros.latent.data import provenance
from lad_ros.latent.setup_config import LatentSetup
from lad_ros.latent.training import TrainResult, train

# The Table 1 rows: (label, anneal_temperature, finetune_encoders).
ABLATIONS = (("full", True, True), ("w/o TA", False, True), ("w/o FT", True, False),
             ("w/o both", False, False))


@dataclass
class Run:
    setup: LatentSetup
    result: TrainResult
    model: LatentActionModel
    matrix: dict  # (source, target) -> held-out mean squared error, own units

    @property
    def train_seconds(self) -> float:
        return sum(self.result.seconds.values())


def run(setup: LatentSetup, train_data: dict[str, np.ndarray],
        heldout: dict[str, np.ndarray], *, seed: int = 0, progress: bool = False) -> Run:
    result = train(setup, train_data, seed=seed, progress=progress)
    model = LatentActionModel(result.net, result.normalizers, {"setup": setup.setup})
    return Run(setup, result, model, metrics.reconstruction_matrix(model, heldout))


def save(run_: Run, model_dir, data_source: str, data_seconds: float, seed: int) -> None:
    setup = run_.setup
    w = metrics.worst(run_.matrix)
    meta = {
        "setup": setup.setup, "dropout": setup.dropout,
        "input_layernorm": setup.input_layernorm, "hidden": setup.hidden,
        "hyperparameters": setup.to_json(),
        "training": {"seconds": run_.result.seconds, "steps": len(run_.result.history["step"]),
                     "seed": seed, "data_source": data_source,
                     "data": provenance(data_source, setup),
                     "data_generation_seconds": round(data_seconds, 1),
                     "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                     "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
        "metrics": {"heldout_source": data_source, "heldout_seed": setup.heldout_seed,
                    "heldout_samples": setup.heldout_samples,
                    "reconstruction": metrics.to_json(run_.matrix),
                    "worst": w},
    }
    store.save(model_dir, run_.result.net, run_.result.normalizers, meta)


def ablation_table(runs: dict[str, Run]) -> str:
    """Markdown: one row per variant, SR per embodiment then CR per ordered pair."""
    first = next(iter(runs.values()))
    names = first.model.embodiments
    pairs = [(i, j) for i in names for j in names if i != j]
    header = ([f"SR {n}" for n in names] + [f"CR {i}→{j}" for i, j in pairs])
    lines = ["| variant | " + " | ".join(header) + " | train s |",
             "|---|" + "---|" * (len(header) + 1)]
    for label, r in runs.items():
        cells = [f"{r.matrix[(n, n)]:.4g}" for n in names] + [f"{r.matrix[p]:.4g}" for p in pairs]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {r.train_seconds:.0f} |")
    return "\n".join(lines)
