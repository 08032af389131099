"""`lad retarget-figure [--out PNG]`: a few synthetic human poses beside their retargeted Faive,
mimic and gripper results, drawn in the shared palm frame, so a person can judge the retargeting.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from matplotlib.patches import Rectangle

from lad_ros.plotting import save_figure
from lad_ros.retarget.human import POSE_FAMILIES, HumanHandModel
from lad_ros.retarget.keyvectors import (FINGERTIPS, INDEX_MCP, MIDDLE_MCP, PINKY_MCP, WRIST,
                                         validate_keypoints)
from lad_ros.retarget.kinematics import palm_frame
from lad_ros.retarget.retargeter import GripperRetargeter, HandRetargeter

DEFAULT_FAMILIES = ("open", "power", "pinch_index", "pinch_pinky", "point")
FINGER_COLOURS = ("tab:red", "tab:orange", "tab:green", "tab:blue", "tab:purple")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="out/retarget_figure.png", help="PNG to write")
    parser.add_argument("--families", nargs="+", default=list(DEFAULT_FAMILIES),
                        choices=POSE_FAMILIES, help="one row per pose family")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dpi", type=int, default=80)


def human_chains(keypoints: np.ndarray) -> list[np.ndarray]:
    """Five polylines (wrist → … → tip) of one hand's keypoints [21, 3], in the palm frame."""
    kp = validate_keypoints(keypoints)[0]
    rotation = palm_frame(kp[WRIST], kp[INDEX_MCP], kp[MIDDLE_MCP], kp[PINKY_MCP])
    palm = (kp - kp[WRIST]) @ rotation.T
    return [palm[[WRIST, tip - 3, tip - 2, tip - 1, tip]] for tip in FINGERTIPS]


def robot_chains(retargeter: HandRetargeter, q: np.ndarray) -> list[np.ndarray]:
    kin = retargeter.kinematics
    anchors, _, tips = kin.chain_frames(np.asarray(q, dtype=np.float64)[None])
    points = kin.to_palm(np.concatenate([anchors[0], tips[0][:, None]], axis=1))
    return [np.concatenate([np.zeros((1, 3)), chain]) for chain in points]


def draw_hand(axes, chains, title):
    for chain, colour in zip(chains, FINGER_COLOURS):
        axes.plot(chain[:, 0], chain[:, 1], chain[:, 2], "-o", color=colour, markersize=2,
                  linewidth=1.5)
    axes.set_title(title, fontsize=8)
    axes.set_xlim(-0.02, 0.2)
    axes.set_ylim(-0.13, 0.09)
    axes.set_zlim(-0.06, 0.16)
    axes.view_init(elev=-35, azim=-125)  # looking into the palm, fingers up and to the right
    axes.set_box_aspect((1, 1, 1), zoom=1.35)
    axes.set_axis_off()


def draw_gripper(axes, width: float, max_width_m: float = 0.08):
    opening = width * max_width_m
    for side in (-1, 1):
        x = side * (opening / 2 + 0.005) - 0.005
        axes.add_patch(Rectangle((x, 0.0), 0.01, 0.05, color="0.3"))
    axes.add_patch(Rectangle((-0.06, -0.015), 0.12, 0.015, color="0.6"))
    axes.set_xlim(-0.07, 0.07)
    axes.set_ylim(-0.02, 0.06)
    axes.set_aspect("equal")
    axes.axis("off")
    axes.set_title(f"gripper width {width:.2f}", fontsize=8)


def render(out: str | Path, families=DEFAULT_FAMILIES, seed: int = 7, dpi: int = 80) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(seed)
    model = HumanHandModel()
    family_index = np.array([POSE_FAMILIES.index(f) for f in families], dtype=np.int16)
    angles = model.close_pinches(model.sample_angles(family_index, rng), family_index, rng)
    keypoints = model.keypoints(angles)
    hands = {hand: HandRetargeter.for_hand(hand) for hand in ("faive", "mimic")}
    joints = {hand: r.retarget(keypoints) for hand, r in hands.items()}
    widths = GripperRetargeter().retarget(keypoints)[:, 0]

    figure = plt.figure(figsize=(10, 2.3 * len(families)))
    for row, family in enumerate(families):
        def cell(column, projection="3d"):
            return figure.add_subplot(len(families), 4, 4 * row + column + 1,
                                      projection=projection)
        draw_hand(cell(0), human_chains(keypoints[row]), f"human: {family}")
        for column, hand in enumerate(("faive", "mimic"), start=1):
            draw_hand(cell(column), robot_chains(hands[hand], joints[hand][row]), hand)
        draw_gripper(cell(3, None), float(widths[row]))
    return save_figure(figure, out, dpi)


def run(args: argparse.Namespace) -> int:
    path = render(args.out, tuple(args.families), args.seed, args.dpi)
    print(f"wrote {path}")
    return 0
