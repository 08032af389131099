"""Self- and cross-reconstruction (eq. 7) of a latent model, in each embodiment's own units.

CR(i -> j) = mean_n ||p_j(q_i(x_i^n)) - x_j^n||^2 and SR(i) = CR(i -> i); squared errors are
summed over the target's dimensions (rad^2, metres^2, normalized width^2).
"""
from __future__ import annotations

import itertools

import numpy as np

from lad_ros.latent.api import LatentActionModel


def reconstruction_matrix(model: LatentActionModel,
                          data: dict[str, np.ndarray]) -> dict[tuple[str, str], float]:
    """{(source, target): mean squared error} for every ordered pair, i == j included."""
    names = model.embodiments
    latents = {m: model.encode(m, data[m]) for m in names}
    return {(i, j): float(np.mean(np.sum((model.decode(j, latents[i]) - data[j]) ** 2, axis=1)))
            for i, j in itertools.product(names, names)}


def worst(matrix: dict[tuple[str, str], float]) -> dict:
    """The largest SR (over embodiments) and CR (over ordered pairs i != j)."""
    sr = max(((k, v) for k, v in matrix.items() if k[0] == k[1]), key=lambda kv: kv[1])
    cr = max(((k, v) for k, v in matrix.items() if k[0] != k[1]), key=lambda kv: kv[1])
    return {"sr": sr[1], "sr_embodiment": sr[0][0], "cr": cr[1], "cr_pair": list(cr[0])}


def to_json(matrix: dict[tuple[str, str], float]) -> dict:
    nested: dict[str, dict[str, float]] = {}
    for (i, j), value in matrix.items():
        nested.setdefault(i, {})[j] = value
    return nested


def from_json(nested: dict) -> dict[tuple[str, str], float]:
    return {(i, j): float(v) for i, row in nested.items() for j, v in row.items()}


def markdown_table(matrix: dict[tuple[str, str], float], units: dict[str, str]) -> str:
    """Rows: source (encoder); columns: target (decoder); the diagonal is SR."""
    names = list(dict.fromkeys(i for i, _ in matrix))
    lines = ["| encode \\ decode | " + " | ".join(names) + " |",
             "|---|" + "---|" * len(names)]
    for i in names:
        cells = [f"{matrix[(i, j)]:.4g}" for j in names]
        lines.append(f"| {i} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("squared errors summed over dims, in (unit)^2 of: " +
                 "; ".join(f"{n}: {units.get(n, '?')}" for n in names))
    return "\n".join(lines)


def summary_line(setup: str, matrix: dict[tuple[str, str], float]) -> str:
    w = worst(matrix)
    return (f"latent setup={setup} sr={w['sr']:.6g} cr={w['cr']:.6g} "
            f"sr_embodiment={w['sr_embodiment']} cr_pair={'->'.join(w['cr_pair'])}")
