"""Episode dataset format: round trip, validation messages, windowing, co-training sampler."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lad_ros.config import ConfigError
from lad_ros.data.episodes import (CoTrainSampler, load_dataset, load_episode, make_window,
                                   sub_batch_sizes, write_episode)
from lad_ros.data.synthetic import synthetic_dataset, synthetic_episode


def test_synthetic_episode_round_trip(tmp_path):
    path = synthetic_episode(tmp_path / "ep", "mimic", frames=12, image_size=(24, 40),
                             cameras=("external", "wrist"))
    episode = load_episode(path)
    assert episode.embodiment == "mimic" and len(episode) == 12
    assert episode.hand_action.shape == (12, 16)
    assert episode.images["wrist"].shape == (12, 24, 40, 3)
    assert np.all(np.diff(episode.stamps_ns) == 100_000_000)  # 10 Hz
    assert not np.array_equal(episode.images["external"][0], episode.images["external"][5])


def test_dataset_rejects_mixed_embodiments(tmp_path):
    synthetic_episode(tmp_path / "a", "faive", frames=4)
    synthetic_episode(tmp_path / "b", "mimic", frames=4)
    with pytest.raises(ConfigError, match="one embodiment per dataset"):
        load_dataset(tmp_path)


def test_empty_directory_is_not_a_dataset(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_dataset(tmp_path)
    assert str(tmp_path) in str(error.value)


def _edit_meta(path, **changes):
    meta = json.loads((path / "meta.json").read_text())
    meta.update(changes)
    (path / "meta.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("changes, field", [
    ({"embodiment": "robotiq"}, "embodiment"),
    ({"fps": -1}, "fps"),
    ({"cameras": "external"}, "cameras"),
    ({"version": 7}, "version"),
    ({"colour": "red"}, "colour"),
])
def test_bad_meta_names_file_and_field(tmp_path, changes, field):
    path = synthetic_episode(tmp_path / "ep", "faive", frames=4)
    _edit_meta(path, **changes)
    with pytest.raises(ConfigError) as error:
        load_episode(path)
    assert error.value.file == str(path / "meta.json") and error.value.field == field


def test_wrong_hand_dims_name_the_array(tmp_path):
    path = synthetic_episode(tmp_path / "ep", "faive", frames=4)
    np.save(path / "hand_action.npy", np.zeros((4, 16), np.float32))  # a mimic-sized action
    with pytest.raises(ConfigError) as error:
        load_episode(path)
    assert error.value.file.endswith("hand_action.npy") and "[4, 11]" in error.value.expected


def test_truncated_image_array_names_the_file(tmp_path):
    path = synthetic_episode(tmp_path / "ep", "faive", frames=4)
    images = path / "images" / "external.npy"
    images.write_bytes(images.read_bytes()[:200])
    with pytest.raises(ConfigError) as error:
        load_episode(path)
    assert error.value.file == str(images)


def test_stamps_must_increase_and_quaternions_be_unit(tmp_path):
    path = synthetic_episode(tmp_path / "ep", "faive", frames=4)
    np.save(path / "stamps_ns.npy", np.array([0, 2, 1, 3], np.int64))
    with pytest.raises(ConfigError, match="strictly increasing"):
        load_episode(path)
    path = synthetic_episode(tmp_path / "ep2", "faive", frames=4)
    poses = np.load(path / "arm_pose.npy")
    poses[2, 3:] *= 2
    np.save(path / "arm_pose.npy", poses)
    with pytest.raises(ConfigError, match="unit quaternions"):
        load_episode(path)


def test_window_pads_with_edge_frames(tmp_path):
    stamps = np.arange(5, dtype=np.int64) * 100
    hand = np.arange(5 * 11, dtype=np.float32).reshape(5, 11)
    poses = np.tile(np.array([0, 0, 0, 0, 0, 0, 1], np.float32), (5, 1))
    poses[:, 0] = np.arange(5) * 0.1
    images = {"external": np.arange(5, dtype=np.uint8)[:, None, None, None]
              * np.ones((5, 2, 2, 3), np.uint8)}
    episode = load_episode(write_episode(tmp_path / "ep", "faive", 10.0, stamps, poses, hand,
                                         images))
    first = make_window(episode, 0, 2, 4, "delta", ["external"])
    assert first.images["external"][:, 0, 0, 0].tolist() == [0, 0]  # history padded at the start
    last = make_window(episode, 3, 2, 4, "delta", ["external"])
    assert last.hand_actions[:, 0].tolist() == [33, 44, 44, 44]  # chunk padded at the end
    np.testing.assert_allclose(last.arm_actions[:, 0], [0.1, 0, 0, 0], atol=1e-6)  # then still


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 10), min_size=1, max_size=5), st.integers(1, 512))
def test_sub_batches_sum_to_batch_and_follow_weights(weights, batch_size):
    sizes = sub_batch_sizes(weights, batch_size)
    assert sum(sizes) == batch_size and min(sizes) >= 0
    if batch_size >= len(weights):
        assert min(sizes) >= 1
    exact = np.array(weights) / sum(weights) * batch_size
    assert np.all(np.abs(np.array(sizes) - exact) <= 1.0 + (batch_size >= len(weights)))


def test_cotrain_sampler_draws_from_each_dataset(tmp_path):
    faive = load_dataset(synthetic_dataset(tmp_path / "faive", "faive", episodes=2, frames=5))
    gripper = load_dataset(synthetic_dataset(tmp_path / "grip", "franka_gripper", episodes=1,
                                             frames=7))
    sampler = CoTrainSampler([faive, gripper], [3.0, 1.0], batch_size=8, seed=1)
    for _ in range(5):
        first, second = sampler.sample()
        assert len(first) == 6 and len(second) == 2
        assert first[:, 0].max() <= 1 and first[:, 1].max() <= 4
        assert second[:, 0].max() == 0 and second[:, 1].max() <= 6
