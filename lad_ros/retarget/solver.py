"""Batched box-constrained Levenberg–Marquardt (numpy, analytic Jacobians).

One solver serves every use: thousands of poses at once for dataset generation, one warm-started
frame for teleoperation (where torch's per-call overhead would eat the 1 ms budget), and the
human-model pinch IK. Each sample keeps its own damping and accepts a step only if its cost falls;
joints resting on a bound that the gradient pushes outwards are frozen for that step, and every
iterate is clipped into the box, so the result is always within the limits. Samples that have
converged drop out of the batch, so easy poses do not pay for hard ones.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

# q [B, n], rows [B] (which samples q belongs to) → r [B, m], J [B, m, n]
ResidualFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def solve_box_lm(residual: ResidualFn, q0: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                 iterations: int, damping: float = 1e-2, prior_weight: float = 0.0,
                 prior: np.ndarray | None = None, step_tolerance: float = 1e-4) -> np.ndarray:
    """Minimise ‖r(q)‖² + prior_weight ‖q − prior‖² over lower <= q <= upper, from q0 [B, n]."""
    q_all = np.clip(np.array(q0, dtype=np.float64), lower, upper)
    prior = np.zeros_like(q_all) if prior is None else np.broadcast_to(prior, q_all.shape)
    rows = np.arange(len(q_all))
    q, center = q_all, prior
    r, jac = residual(q, rows)
    cost = _cost(r, q, center, prior_weight)
    cost_all = cost.copy()
    mu = np.full(len(q), damping)
    damping_floor = prior_weight + 1e-12
    for _ in range(iterations):
        jac_t = np.swapaxes(jac, 1, 2)
        grad = (jac_t @ r[:, :, None])[:, :, 0]
        if prior_weight:
            grad += prior_weight * (q - center)
        system = jac_t @ jac
        diagonal = np.einsum("bii->bi", system)  # a view: damping is added in place
        diagonal *= (1.0 + mu)[:, None]
        diagonal += (damping_floor * (1.0 + mu))[:, None]
        blocked = ((q <= lower) & (grad > 0)) | ((q >= upper) & (grad < 0))
        if blocked.any():
            free = (~blocked).astype(q.dtype)
            system *= free[:, :, None] * free[:, None, :]
            diagonal += 1.0 - free
            grad *= free
        step = np.linalg.solve(system, grad[..., None])[..., 0]
        candidate = np.clip(q - step, lower, upper)
        r_new, jac_new = residual(candidate, rows)
        cost_new = _cost(r_new, candidate, center, prior_weight)
        better = cost_new < cost
        if better.all():
            q, r, jac, cost = candidate, r_new, jac_new, cost_new
            mu = np.maximum(mu * 0.3, 1e-9)
        else:
            q, r, jac, cost = q.copy(), r.copy(), jac.copy(), cost.copy()
            q[better], r[better], jac[better] = candidate[better], r_new[better], jac_new[better]
            cost[better] = cost_new[better]
            mu = np.clip(np.where(better, mu * 0.3, mu * 10.0), 1e-9, 1e9)
        q_all[rows], cost_all[rows] = q, cost
        active = np.abs(step).max(axis=1) >= step_tolerance
        if not active.any():
            break
        if not active.all():
            rows, q, center, r, jac, cost, mu = (
                rows[active], q[active], center[active], r[active], jac[active], cost[active],
                mu[active])
    return q_all, cost_all


def _cost(r: np.ndarray, q: np.ndarray, center: np.ndarray, prior_weight: float) -> np.ndarray:
    cost = np.einsum("bm,bm->b", r, r)
    if prior_weight:
        d = q - center
        cost += prior_weight * np.einsum("bn,bn->b", d, d)
    return cost
