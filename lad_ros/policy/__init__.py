"""Latent diffusion policy (LAD stage 4): networks, training and the PolicyRunner.

OpenMP threads that spin while waiting ruin latency on a CPU shared with other busy processes
(measured: a transformer step went from 25 ms to 108 ms with 2 threads on a loaded 2-core
machine, and every op took one scheduler tick, about 8 ms). Sleeping waits are the default
here; it only takes effect when this package is imported before torch, so the policy node sets
it in its environment as well (PolicyRunner warns when it came too late). Export
OMP_WAIT_POLICY=ACTIVE on a machine with cores reserved for the policy.
"""
import os
import sys

_TOO_LATE = "torch" in sys.modules and "OMP_WAIT_POLICY" not in os.environ
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def omp_wait_policy_problem() -> str | None:
    """Why OMP_WAIT_POLICY=PASSIVE did not reach OpenMP, or None when it did (or was user-set)."""
    if _TOO_LATE:
        return ("torch was imported before lad_ros.policy without OMP_WAIT_POLICY set: OpenMP "
                "workers spin, and on a busy CPU a multi-threaded chunk can be 10x slower. Set "
                "OMP_WAIT_POLICY=PASSIVE in the environment (or threads: 1)")
    return None
