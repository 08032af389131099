"""Policy training end to end on synthetic data: overfit, CLI, checkpoints, resume."""
import numpy as np
import pytest
import torch

from lad_ros import cli
from lad_ros.config import ConfigError
from lad_ros.data.episodes import load_dataset
from lad_ros.policy.checkpoint import WEIGHTS, load_policy
from lad_ros.policy.config import load_policy_config
from lad_ros.policy.runner import PolicyRunner
from lad_ros.policy.smoke import write_smoke_setup
from lad_ros.policy.train import train_policy


@pytest.fixture(scope="module")
def overfit_run(tmp_path_factory):
    """One small transformer policy trained on one synthetic episode (shared by the tests)."""
    torch.set_num_threads(1)
    directory = tmp_path_factory.mktemp("overfit")
    config_file = write_smoke_setup(directory, episodes=1, frames=16)
    result = train_policy(load_policy_config(config_file), str(config_file), directory / "run",
                          progress=False)
    return directory, result


def _predict_at(runner, episode, frame):
    for j in (frame - 1, frame):
        runner.push_image("external", episode.stamps_ns[j], episode.images["external"][j])
        runner.push_arm_pose(episode.stamps_ns[j], episode.arm_pose[j])
    return runner.predict()


@pytest.mark.timeout(240)
def test_overfit_loss_falls_tenfold_and_chunks_match_targets(overfit_run):
    directory, result = overfit_run
    losses = np.array(result.losses)
    assert losses[:20].mean() / losses[-50:].mean() >= 10, (losses[:20].mean(), losses[-50:].mean())
    assert (result.run_dir / "loss.png").stat().st_size > 0

    episode = load_dataset(directory / "data" / "faive")[0]
    runner = PolicyRunner(str(result.model_dir), "cpu", seed=0)
    horizon = runner.config.horizon
    span = np.ptp(episode.hand_action, axis=0)
    own, other = [], []
    for frame in (4, 6, 8):
        chunk = _predict_at(runner, episode, frame)
        target = episode.hand_action[frame:frame + horizon]
        own.append(np.mean(np.abs(chunk.latent - target) / span))
        shifted = episode.hand_action[frame - 4:frame - 4 + horizon]
        other.append(np.mean(np.abs(chunk.latent - shifted) / span))
        assert chunk.stamp_ns == episode.stamps_ns[frame]
    # close to its own target: within 12% of each joint's range on average, and much closer to
    # it than to the chunk 4 frames earlier (the prediction follows the observation)
    assert np.mean(own) < 0.12, (own, other)
    assert np.mean(own) < 0.5 * np.mean(other), (own, other)


def test_checkpoint_round_trip_gives_identical_outputs(overfit_run, tmp_path):
    _, result = overfit_run
    a = load_policy(result.model_dir)
    b = load_policy(result.run_dir / "checkpoint")  # same EMA weights, saved separately
    sample, cond = torch.randn(2, 8, a.model.action_dim), torch.randn(2, 2, 42)
    steps = torch.tensor([3, 70])
    with torch.inference_mode():
        assert torch.equal(a.model(sample, steps, cond), b.model(sample, steps, cond))
    assert a.normalizer.to_json() == b.normalizer.to_json()


def test_truncated_checkpoint_names_the_file(overfit_run, tmp_path):
    _, result = overfit_run
    broken = tmp_path / "model"
    broken.mkdir()
    for f in result.model_dir.iterdir():
        (broken / f.name).write_bytes(f.read_bytes())
    data = (broken / WEIGHTS).read_bytes()
    (broken / WEIGHTS).write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError) as error:
        load_policy(broken)
    assert str(broken / WEIGHTS) in str(error.value) and "complete safetensors" in str(error.value)


def test_mismatched_checkpoint_names_file_and_weight(overfit_run, tmp_path):
    _, result = overfit_run
    config_file = write_smoke_setup(tmp_path, transformer={"width": 32},
                                    train={"steps": 1, "batch_size": 4})
    other = train_policy(load_policy_config(config_file), str(config_file), tmp_path / "run",
                         progress=False)
    # weights of a narrower transformer next to the config of the wider one
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for f in result.model_dir.iterdir():
        (mixed / f.name).write_bytes(f.read_bytes())
    (mixed / WEIGHTS).write_bytes((other.model_dir / WEIGHTS).read_bytes())
    with pytest.raises(ConfigError) as error:
        load_policy(mixed)
    assert error.value.file == str(mixed / WEIGHTS)
    assert error.value.field.startswith("denoiser.") and "shape" in error.value.expected


def test_cli_train_and_resume(tmp_path, capsys):
    config_file = write_smoke_setup(tmp_path, train={"steps": 4, "batch_size": 4,
                                                     "checkpoint_every": 2})
    run_dir = tmp_path / "run"
    args = ["train-policy", str(config_file), "--run-dir", str(run_dir), "--no-progress"]
    assert cli.main(args) == 0
    assert "trained 4 steps" in capsys.readouterr().out
    assert cli.main(args + ["--resume", "--steps", "6"]) == 0
    state = torch.load(run_dir / "checkpoint" / "train_state.pt", weights_only=True)
    assert state["step"] == 6 and len(state["losses"]) == 6
    assert "trained 6 steps" in capsys.readouterr().out


def test_cli_reports_bad_config_with_file_and_field(tmp_path, capsys):
    config_file = write_smoke_setup(tmp_path, horizon=0)
    assert cli.main(["train-policy", str(config_file), "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert str(config_file) in out and "'horizon'" in out


def test_unet_cotraining_with_asymmetric_cameras_runs_end_to_end(tmp_path):
    """mimic + gripper co-training through a latent projector, U-Net, relative arm targets,
    a wrist camera only the mimic has; the runner then serves both end-effectors."""
    from test_policy import LinearProjector

    config_file = write_smoke_setup(
        tmp_path, frames=10, denoiser="unet", arm_action="relative",
        cameras=[{"name": "external"}, {"name": "wrist", "embodiments": ["mimic"]}],
        datasets=[{"path": "data/mimic"}, {"path": "data/franka_gripper"}],
        train={"steps": 3, "batch_size": 4})
    result = train_policy(load_policy_config(config_file), str(config_file), tmp_path / "run",
                          projector=LinearProjector(), progress=False)
    assert len(result.losses) == 3 and all(np.isfinite(result.losses))
    runner = PolicyRunner(str(result.model_dir), "cpu", "franka_gripper", seed=0)
    episode = load_dataset(tmp_path / "data" / "mimic")[0]
    runner.push_image("external", episode.stamps_ns[0], episode.images["external"][0])
    runner.push_arm_pose(episode.stamps_ns[0], episode.arm_pose[0])
    gripper_chunk = runner.predict()
    runner.set_embodiment("mimic")
    runner.push_image("wrist", episode.stamps_ns[0], episode.images["wrist"][0])
    mimic_chunk = runner.predict()
    assert gripper_chunk.latent.shape == mimic_chunk.latent.shape == (8, 6)
    assert mimic_chunk.arm.shape == (8, 9) and mimic_chunk.arm_targets().shape == (8, 7)
