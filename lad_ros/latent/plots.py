"""Loss-curve figure of a training run (matplotlib, Agg: no display needed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lad_ros.plotting import save_figure


def loss_curves(history: dict, title: str, out: str | Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stage = np.asarray(history["stage"])
    step = np.asarray(history["step"])
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    a, b = stage == "A", stage == "B"
    left.plot(step[a], np.asarray(history["contrastive"])[a], lw=0.8, label="InfoNCE (eq. 2)")
    left.set_xlabel("step")
    left.set_ylabel("InfoNCE")
    left.set_title("stage A: encoders")
    tau_axis = left.twinx()
    tau_axis.plot(step[a], np.asarray(history["tau"])[a], color="tab:red", lw=1.2)
    tau_axis.set_ylabel("temperature tau", color="tab:red")
    right.semilogy(step[b], np.asarray(history["recon"])[b], lw=0.8,
                   label="L_recon (eq. 3, normalized units)")
    contrastive_b = np.asarray(history["contrastive"], dtype=float)[b]
    if np.isfinite(contrastive_b).any():
        right.semilogy(step[b], contrastive_b, lw=0.8, label="InfoNCE (fine-tuning)")
    right.set_xlabel("step")
    right.set_title("stage B: decoders")
    right.legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    return save_figure(figure, out, dpi=80)
