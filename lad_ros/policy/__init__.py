"""Latent diffusion policy (LAD stage 4): networks, training and the PolicyRunner.

OpenMP threads that spin while waiting ruin latency on a CPU shared with other busy processes
(measured: a transformer step went from 25 ms to 108 ms with 2 threads on a loaded 2-core
machine). Sleeping waits are the default here; it only takes effect when this package is
imported before torch, so the policy node sets it in its environment as well. Export
OMP_WAIT_POLICY=ACTIVE on a machine with cores reserved for the policy.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
