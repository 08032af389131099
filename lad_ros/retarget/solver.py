"""Batched box-constrained Levenberg–Marquardt (numpy, analytic Jacobians).

One solver serves every use: thousands of poses at once for dataset generation, one warm-started
frame for teleoperation (where torch's per-call overhead would eat the 1 ms budget), and the
human-model pinch IK. Each sample keeps its own damping and accepts a step only if its cost falls;
joints resting on a bound that the gradient pushes outwards are frozen for that step, and every
iterate is clipped into the box, so the result is always within the limits.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

ResidualFn = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # q → r [B, m], J [B, m, n]


def solve_box_lm(residual: ResidualFn, q0: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 iterations: int, damping: float = 1e-2, step_tolerance: float = 1e-6
                 ) -> np.ndarray:
    """Minimise ‖r(q)‖² over lower <= q <= upper from q0 [B, n]; returns q [B, n]."""
    q = np.clip(q0, lower, upper)
    r, jac = residual(q)
    cost = (r * r).sum(axis=1)
    mu = np.full(len(q), damping)
    eye = np.eye(q.shape[1])
    for _ in range(iterations):
        jac_t = np.swapaxes(jac, 1, 2)
        grad = (jac_t @ r[:, :, None])[:, :, 0]
        hessian = jac_t @ jac
        blocked = ((q <= lower + 1e-12) & (grad > 0)) | ((q >= upper - 1e-12) & (grad < 0))
        free = (~blocked).astype(q.dtype)
        diagonal = np.einsum("bii->bi", hessian)
        system = (hessian * free[:, :, None] * free[:, None, :]
                  + eye * (mu[:, None] * (diagonal + 1e-12) * free + (1.0 - free))[:, None, :])
        step = -np.linalg.solve(system, (grad * free)[..., None])[..., 0]
        candidate = np.clip(q + step, lower, upper)
        r_new, jac_new = residual(candidate)
        cost_new = (r_new * r_new).sum(axis=1)
        better = cost_new < cost
        q = np.where(better[:, None], candidate, q)
        r = np.where(better[:, None], r_new, r)
        jac = np.where(better[:, None, None], jac_new, jac)
        cost = np.where(better, cost_new, cost)
        mu = np.clip(np.where(better, mu * 0.3, mu * 10.0), 1e-9, 1e9)
        if np.abs(step).max() < step_tolerance:
            break
    return q
