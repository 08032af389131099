"""`lad latent-figure MODEL_DIR`: the paper's Fig. 2 check, a gripper width sweep W = 0 … 1 pushed
through the gripper encoder and decoded as every hand of the model, drawn side by side with a
curve of the decoded hands' mean finger flexion against W.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lad_ros.embodiment import load_embodiment
from lad_ros.latent.api import LatentActionModel
from lad_ros.plotting import save_figure

GRIPPER = "franka_gripper"


def gripper_sweep(model: LatentActionModel, widths: np.ndarray) -> dict[str, np.ndarray]:
    """Decoded actions of every other embodiment for gripper widths [k] -> {name: [k, d]}."""
    latents = model.encode(GRIPPER, np.asarray(widths, np.float32).reshape(-1, 1))
    return {name: model.decode(name, latents) for name in model.embodiments if name != GRIPPER}


def flexion_joints(embodiment: str) -> list[int]:
    """Finger flexion joints of a robot hand: not the thumb, not the abduction (base2mcp)."""
    names = load_embodiment(embodiment).joint_names
    return [i for i, n in enumerate(names) if "thumb" not in n and "base2mcp" not in n]


def mean_flexion(embodiment: str, joint_angles: np.ndarray) -> np.ndarray:
    """Mean flexion angle (rad) of the non-thumb fingers, per row."""
    return np.asarray(joint_angles)[:, flexion_joints(embodiment)].mean(axis=1)


def binned_flexion(embodiment: str, data: dict[str, np.ndarray], bins: int = 10,
                   min_count: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """(median W, mean flexion) of aligned data per gripper-width bin with enough samples."""
    width = data[GRIPPER][:, 0]
    flexion = mean_flexion(embodiment, data[embodiment])
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = [(np.median(width[m]), flexion[m].mean())
            for m in ((width >= lo) & (width <= hi) for lo, hi in zip(edges, edges[1:]))
            if m.sum() >= min_count]
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])


def render(model: LatentActionModel, out: str | Path, columns: int = 5, dpi: int = 70,
           data: dict[str, np.ndarray] | None = None) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lad_ros.retarget.figure import draw_gripper, draw_hand, human_chains, robot_chains
    from lad_ros.retarget.retargeter import HandRetargeter

    widths = np.linspace(0.0, 1.0, columns)
    decoded = gripper_sweep(model, widths)
    hands = list(decoded)
    rows = 1 + len(hands)
    figure = plt.figure(figsize=(2.1 * columns + 3.2, 2.1 * rows))
    grid = figure.add_gridspec(rows, columns + 1, width_ratios=[1] * columns + [1.5])
    for c, width in enumerate(widths):
        draw_gripper(figure.add_subplot(grid[0, c]), float(width))
        for r, hand in enumerate(hands, start=1):
            axes = figure.add_subplot(grid[r, c], projection="3d")
            if hand == "human":
                chains = human_chains(decoded[hand][c].reshape(21, 3))
            else:
                chains = robot_chains(HandRetargeter.for_hand(hand), decoded[hand][c])
            draw_hand(axes, chains, f"{hand} decoded, W={width:.2f}")
    curve = figure.add_subplot(grid[:, columns])
    fine = np.linspace(0.0, 1.0, 41)
    for hand, actions in gripper_sweep(model, fine).items():
        if hand != "human":
            line, = curve.plot(fine, mean_flexion(hand, actions), label=f"{hand} decoded")
            if data is not None:
                curve.plot(*binned_flexion(hand, data), "o", color=line.get_color(),
                           label=f"{hand} held-out data, mean per W bin")
    curve.set_xlabel("gripper width W (0 closed, 1 open)")
    curve.set_ylabel("decoded mean finger flexion (rad)")
    curve.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    curve.set_title("finger flexion vs gripper width", fontsize=9)
    figure.suptitle(f"{model.setup}: gripper sweep through q_gripper, decoded by p_hand",
                    fontsize=10)
    return save_figure(figure, out, dpi)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", help="e.g. models/latent/human_faive_gripper")
    parser.add_argument("--out", help="PNG (default: out/latent/<setup>_gripper_sweep.png)")
    parser.add_argument("--columns", type=int, default=5, help="sweep values drawn")
    parser.add_argument("--dpi", type=int, default=70)
    parser.add_argument("--no-data", action="store_true",
                        help="do not overlay the held-out data's mean flexion per width")


def run(args: argparse.Namespace) -> int:
    model = LatentActionModel.load(args.model_dir)
    out = args.out or f"out/latent/{model.setup}_gripper_sweep.png"
    data = None
    if not args.no_data:
        from lad_ros.latent.eval_command import heldout
        data = heldout(model)
    path = render(model, out, args.columns, args.dpi, data)
    for hand, actions in gripper_sweep(model, np.linspace(0, 1, 6)).items():
        if hand != "human":
            values = " ".join(f"{v:.3f}" for v in mean_flexion(hand, actions))
            print(f"{hand}: mean flexion (rad) at W = 0, 0.2, ..., 1: {values}")
    print(f"wrote {path}")
    return 0
