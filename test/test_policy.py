"""Policy building blocks: config, arm actions, networks, normalizer, co-training batches."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from lad_ros.config import ConfigError
from lad_ros.data.episodes import load_dataset
from lad_ros.embodiment import share_dir
from lad_ros.policy.arm_actions import (arm_action_chunk, rotation_from_6d, rotation_to_6d,
                                        target_poses)
from lad_ros.policy.batches import TrainingData
from lad_ros.policy.config import load_policy_config, policy_config_from_dict
from lad_ros.policy.model import LatentDiffusionPolicy, obs_dim
from lad_ros.policy.normalizer import RangeStats
from lad_ros.policy.projector import JointSpaceProjector
from lad_ros.policy.resnet import ResNet18
from lad_ros.policy.smoke import tiny_policy, write_smoke_setup
from lad_ros.policy.transformer import TransformerDenoiser
from lad_ros.policy.unet import UnetDenoiser

torch.set_num_threads(1)


# -- config ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["faive_transformer", "mimic_unet"])
def test_shipped_configs_load(name):
    config = load_policy_config(share_dir() / "config" / "policy" / f"{name}.yaml")
    assert config.name == name and config.diffusion.train_steps == 100


@pytest.mark.parametrize("overrides, field", [
    ({"denoiser": "unet", "horizon": 21}, "horizon"),
    ({"arm_action": "euler"}, "arm_action"),
    ({"crop_size": [64, 64]}, "crop_size"),
    ({"transformer": {"width": 30, "heads": 4}}, "transformer.width"),
    ({"diffusion": {"inference_steps": 200}}, "diffusion.inference_steps"),
    ({"train": {"lr": "fast"}}, "train.lr"),
    ({"cameras": [{"name": "a"}, {"name": "a"}]}, "cameras"),
    ({"batch": 3}, "batch"),
])
def test_bad_config_names_field(overrides, field):
    with pytest.raises(ConfigError) as error:
        policy_config_from_dict(tiny_policy(**overrides), "policy.yaml")
    assert error.value.file == "policy.yaml" and error.value.field == field


def test_asymmetric_cameras_per_embodiment():
    config = policy_config_from_dict(tiny_policy(cameras=[
        {"name": "external"}, {"name": "wrist", "embodiments": ["mimic"]}]), "p.yaml")
    assert config.cameras_for("mimic") == [True, True]
    assert config.cameras_for("franka_gripper") == [True, False]


# -- arm actions -------------------------------------------------------------------------------
def _random_poses(n, seed):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0, 0.3, (n, 3)),
                           Rotation.random(n, random_state=seed).as_quat()], 1).astype(np.float32)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["delta", "relative"]), st.integers(0, 6))
def test_arm_actions_invert_to_the_reached_poses(seed, kind, start):
    poses = _random_poses(10, seed)
    actions = arm_action_chunk(poses, start, 3, kind)
    assert actions.shape == (3, 6 if kind == "delta" else 9)
    targets = target_poses(poses[start], actions, kind)
    reached = poses[start + 1:start + 4]
    np.testing.assert_allclose(targets[:, :3], reached[:, :3], atol=1e-5)
    angle = (Rotation.from_quat(targets[:, 3:]).inv() * Rotation.from_quat(reached[:, 3:]))
    assert angle.magnitude().max() < 1e-4


def test_6d_rotation_round_trip_and_gram_schmidt():
    matrices = Rotation.random(20, random_state=3).as_matrix()
    np.testing.assert_allclose(rotation_from_6d(rotation_to_6d(matrices)), matrices, atol=1e-9)
    noisy = rotation_to_6d(matrices) + np.random.default_rng(0).normal(0, 0.1, (20, 6))
    fixed = rotation_from_6d(noisy)
    np.testing.assert_allclose(fixed @ fixed.transpose(0, 2, 1), np.tile(np.eye(3), (20, 1, 1)),
                               atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(fixed), 1.0)


# -- networks ----------------------------------------------------------------------------------
@pytest.mark.parametrize("norm", ["group", "batch"])
def test_resnet_normalizes_inside_and_has_resnet18_depth(norm):
    net = ResNet18(out_dim=10, width=8, norm=norm).eval()
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1)]
    assert len(convs) == 17  # stem + 8 basic blocks x 2: the 18th layer is the linear head
    images = torch.randint(0, 256, (2, 3, 40, 48), dtype=torch.uint8)
    with torch.inference_mode():
        assert net(images).shape == (2, 10)
        torch.testing.assert_close(net(images), net(images.float()))  # uint8 and [0, 255] float


def test_transformer_causal_mask_hides_later_actions():
    torch.manual_seed(0)
    net = TransformerDenoiser(5, 6, 7, 2, layers=2, heads=2, width=16, causal=True,
                              dropout_attention=0.0).eval()
    sample, cond, t = torch.randn(1, 6, 5), torch.randn(1, 2, 7), torch.tensor([10])
    changed = sample.clone()
    changed[:, 4:] += 1.0
    with torch.inference_mode():
        a, b = net(sample, t, cond), net(changed, t, cond)
    torch.testing.assert_close(a[:, :4], b[:, :4])
    assert not torch.allclose(a[:, 4:], b[:, 4:])
    with torch.inference_mode():  # and the observations condition every step
        assert not torch.allclose(net(sample, t, cond + 1)[:, 0], a[:, 0])


@pytest.mark.parametrize("full_resolution_skip", [True, False])
def test_unet_shapes_and_film_conditioning(full_resolution_skip):
    torch.manual_seed(0)
    net = UnetDenoiser(5, 12, 7, 2, down_dims=(16, 32, 64), groups=8, step_embed_dim=16,
                       full_resolution_skip=full_resolution_skip).eval()
    assert len(net.up) == (3 if full_resolution_skip else 2)
    sample, cond = torch.randn(3, 12, 5), torch.randn(3, 2, 7)
    with torch.inference_mode():
        out = net(sample, torch.tensor([0, 50, 99]), cond)
        assert out.shape == sample.shape
        assert not torch.allclose(out, net(sample, torch.tensor([0, 50, 99]), cond * 2))
    with pytest.raises(ValueError, match="divisible by 4"):
        UnetDenoiser(5, 10, 7, 2, down_dims=(16, 32, 64))


def test_missing_cameras_are_zeroed_and_flagged():
    config = policy_config_from_dict(tiny_policy(cameras=[
        {"name": "external"}, {"name": "wrist", "embodiments": ["mimic"]}]), "p.yaml")
    model = LatentDiffusionPolicy(config, latent_dim=4).eval()
    features = torch.randn(1, 2, 2, config.encoder.feature_dim)
    mask = torch.tensor([[1.0, 0.0]])
    cond = model.condition(features, mask, torch.zeros(1, 2, 9))
    assert cond.shape == (1, 2, obs_dim(config))
    f = config.encoder.feature_dim
    assert torch.all(cond[..., f:2 * f] == 0) and torch.all(cond[..., 2 * f:2 * f + 2] == mask)


def test_range_normalizer_maps_to_unit_interval_and_back():
    values = np.random.default_rng(0).normal(3, 2, (100, 4)).astype(np.float32)
    values[:, 3] = 5.0  # a constant dimension
    stats = RangeStats.of(values)
    normalized = stats.normalize(values)
    np.testing.assert_allclose(normalized[:, :3].min(0), -1, atol=1e-6)
    np.testing.assert_allclose(normalized[:, :3].max(0), 1, atol=1e-6)
    assert np.all(normalized[:, 3] == 0)
    np.testing.assert_allclose(stats.unnormalize(normalized), values, atol=1e-5)


# -- co-training batches ----------------------------------------------------------------------
class LinearProjector:
    """A fixed random linear map per embodiment into a 6-D latent space."""
    latent_dim = 6

    def __init__(self):
        rng = np.random.default_rng(42)
        self.maps = {"mimic": rng.normal(size=(16, 6)), "franka_gripper": rng.normal(size=(1, 6))}

    def encode(self, embodiment, actions):
        return (actions @ self.maps[embodiment]).astype(np.float32)

    def decode(self, embodiment, latents):
        return (latents @ np.linalg.pinv(self.maps[embodiment])).astype(np.float32)


def test_cotraining_batch_projects_normalizes_and_pads_cameras(tmp_path):
    config_file = write_smoke_setup(
        tmp_path, frames=10,
        cameras=[{"name": "external"}, {"name": "wrist", "embodiments": ["mimic"]}],
        datasets=[{"path": "data/mimic", "weight": 3.0},
                  {"path": "data/franka_gripper", "weight": 1.0}],
        train={"batch_size": 8})
    config = load_policy_config(config_file)
    datasets = [load_dataset(tmp_path / "data" / n) for n in ("mimic", "franka_gripper")]
    data = TrainingData(config, datasets, [3.0, 1.0], LinearProjector(), seed=0)
    batch = data.batch()
    assert batch.actions.shape == (8, config.horizon, 6 + 6)
    assert batch.actions.abs().max() <= 1.0 + 1e-5  # each sub-batch normalized by its own stats
    assert batch.camera_mask.tolist() == [[1, 1]] * 6 + [[1, 0]] * 2
    wrist = batch.images[1]
    assert wrist[:6].float().mean() > 0 and torch.all(wrist[6:] == 0)
    assert sorted(data.normalizer.stats) == ["franka_gripper", "mimic"]
    # the latent part is the projection of recorded mimic hand actions
    latent = data.normalizer.get("mimic", "latent").unnormalize(batch.actions[:6, :, :6].numpy())
    recorded = np.concatenate([LinearProjector().encode("mimic", e.hand_action)
                               for e in datasets[0]])
    distance = np.linalg.norm(latent.reshape(-1, 1, 6) - recorded[None], axis=-1).min(axis=1)
    assert distance.max() < 1e-4


def test_joint_space_policy_refuses_a_second_embodiment():
    projector = JointSpaceProjector("faive")
    assert projector.latent_dim == 11
    with pytest.raises(ValueError, match="only 'faive'"):
        projector.encode("mimic", np.zeros((1, 16), np.float32))
