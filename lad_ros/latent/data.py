"""Aligned training/held-out tuples for a setup: retargeted (the real thing) or synthetic."""
from __future__ import annotations

import numpy as np

from lad_ros.latent.setup_config import LatentSetup
from lad_ros.latent.synthetic import synthetic_aligned

SOURCES = ("retarget", "synthetic")


def aligned(source: str, n: int, seed: int, progress: bool = False) -> dict[str, np.ndarray]:
    if source == "synthetic":
        return synthetic_aligned(n, seed)
    if source != "retarget":
        raise ValueError(f"data source must be one of {SOURCES}, got {source!r}")
    try:
        from lad_ros.retarget.dataset import generate_aligned
    except ImportError as error:
        raise RuntimeError("retargeted data needs lad_ros.retarget.dataset.generate_aligned, "
                           f"which is not available ({error}); use --data synthetic") from error
    return generate_aligned(n, seed, progress=progress)


def split(setup: LatentSetup, source: str, progress: bool = False
          ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(train, held-out): the same generator with the setup's two distinct seeds."""
    train = aligned(source, setup.train_samples, setup.train_seed, progress)
    heldout = aligned(source, setup.heldout_samples, setup.heldout_seed, progress)
    return train, heldout


def provenance(source: str, setup: LatentSetup) -> dict:
    """What produced the tuples (retargeter revision, scale factors), for the model JSON."""
    if source != "retarget":
        return {"source": source}
    from lad_ros.retarget.dataset import generation_meta
    meta = generation_meta(setup.train_seed, setup.train_samples)
    return {"source": source, "retarget": meta}
