"""The policy's projector wiring with the shipped latent models (not a stand-in)."""
import json

import numpy as np
import pytest

from lad_ros.config import ConfigError
from lad_ros.embodiment import resolve
from lad_ros.policy.config import load_policy_config
from lad_ros.policy.projector import load_projector
from lad_ros.retarget.dataset import generate_aligned

SHIPPED_POLICY_CONFIGS = ["config/policy/faive_transformer.yaml", "config/policy/mimic_unet.yaml"]


@pytest.mark.parametrize("config_path", SHIPPED_POLICY_CONFIGS)
def test_shipped_policy_configs_load_their_latent_model(config_path):
    config = load_policy_config(resolve(config_path))
    model_dir = resolve(config.latent_model_dir)
    setup = json.loads((model_dir / "model.json").read_text())
    projector = load_projector(config.latent_model_dir, setup["embodiments"], config_path)
    assert projector.latent_dim == setup["latent_dim"]
    assert sorted(projector.embodiments) == sorted(setup["embodiments"])


def test_real_latent_model_round_trips_hand_actions_through_the_projector():
    projector = load_projector("models/latent/mimic_gripper", ["mimic", "franka_gripper"],
                               "test.yaml")
    recorded = json.loads((resolve("models/latent/mimic_gripper") / "model.json").read_text())
    data = generate_aligned(300, seed=11)
    for embodiment in ("mimic", "franka_gripper"):
        z = projector.encode(embodiment, data[embodiment])
        assert z.shape == (300, 16) and z.dtype == np.float32 and np.all(np.isfinite(z))
        decoded = projector.decode(embodiment, z)
        error = float(np.mean(np.sum((decoded - data[embodiment]) ** 2, axis=1)))
        sr = recorded["metrics"]["reconstruction"][embodiment][embodiment]
        assert error < 2.0 * sr + 1e-4, (embodiment, error, sr)
    # The same latent decodes as the other end-effector: the co-training premise.
    gripper_from_mimic = projector.decode("franka_gripper", projector.encode("mimic", data["mimic"]))
    assert np.all((gripper_from_mimic >= 0.0) & (gripper_from_mimic <= 1.0))


def test_latent_model_missing_an_embodiment_is_a_config_error():
    with pytest.raises(ConfigError, match="latent_model_dir"):
        load_projector("models/latent/mimic_gripper", ["faive", "franka_gripper"], "x.yaml")
