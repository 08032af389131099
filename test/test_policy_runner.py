"""PolicyRunner: stamp alignment, readiness, embodiment swap, threads (random tiny models)."""
import threading

import numpy as np
import pytest
import torch

from lad_ros.policy.checkpoint import save_policy
from lad_ros.policy.config import policy_config_from_dict
from lad_ros.policy.model import ARM_POSE_OBS_DIM, LatentDiffusionPolicy
from lad_ros.policy.normalizer import Normalizer, RangeStats
from lad_ros.policy.runner import NotReady, PolicyRunner
from lad_ros.policy.smoke import tiny_policy

STEP_NS = 100_000_000  # 10 Hz
POSE = np.array([0.4, 0.0, 0.3, 0.0, 0.0, 0.0, 1.0], np.float32)


def _stats(dim, low, high):
    return RangeStats(np.full(dim, low, np.float32), np.full(dim, high, np.float32))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """An untrained two-camera policy for faive (external only) and mimic (external + wrist)."""
    torch.manual_seed(0)
    config = policy_config_from_dict(tiny_policy(cameras=[
        {"name": "external"}, {"name": "wrist", "embodiments": ["mimic"]}]), "p.yaml")
    model = LatentDiffusionPolicy(config, latent_dim=4)
    stats = {"faive": {"latent": _stats(4, -1, 1), "arm": _stats(6, -1, 1),
                       "arm_pose_obs": _stats(ARM_POSE_OBS_DIM, -1, 1)},
             "mimic": {"latent": _stats(4, 10, 12), "arm": _stats(6, -1, 1),
                       "arm_pose_obs": _stats(ARM_POSE_OBS_DIM, -1, 1)}}
    return str(save_policy(tmp_path_factory.mktemp("policy"), model, Normalizer(stats),
                           ["faive", "mimic"]))


def _image(value):
    return np.full((32, 32, 3), value, np.uint8)


def test_chunk_shape_stamp_and_targets(model_dir):
    runner = PolicyRunner(model_dir, "cpu", "faive", seed=0)
    for i in range(3):
        runner.push_image("external", i * STEP_NS, _image(40 * i))
        runner.push_arm_pose(i * STEP_NS, POSE)
    chunk = runner.predict()
    assert chunk.latent.shape == (8, 4) and chunk.arm.shape == (8, 6)
    assert chunk.stamp_ns == 2 * STEP_NS and chunk.dt == pytest.approx(0.1)
    assert np.all(np.abs(chunk.latent) <= 1 + 1e-5)  # clipped sample, faive statistics
    assert chunk.arm_targets().shape == (8, 7)
    assert set(chunk.timings_ms) == {"encode", "denoise", "total"}


def test_not_ready_until_every_needed_stream_has_data(model_dir):
    runner = PolicyRunner(model_dir, "cpu", "mimic", seed=0)
    with pytest.raises(NotReady, match="external"):
        runner.predict()
    runner.push_image("external", STEP_NS, _image(10))
    with pytest.raises(NotReady, match="wrist"):
        runner.predict()
    runner.push_image("wrist", STEP_NS, _image(10))
    with pytest.raises(NotReady, match="arm pose"):
        runner.predict()
    runner.push_arm_pose(2 * STEP_NS, POSE)  # newer than t0 only: still nothing at t0
    with pytest.raises(NotReady, match="arm pose"):
        runner.predict()
    runner.push_arm_pose(STEP_NS - 5, POSE)
    assert runner.predict().latent.min() >= 10 - 1e-4  # mimic statistics


def test_history_is_aligned_on_capture_stamps_not_arrival(model_dir):
    """Out-of-order arrival gives the same chunk as in-order arrival; later frames than t0's
    grid do not leak into it, and a slightly late stamp maps to the grid time before it."""
    def run(order):
        runner = PolicyRunner(model_dir, "cpu", "faive", seed=3)
        for stamp, value in order:
            runner.push_image("external", stamp, _image(value))
            runner.push_arm_pose(stamp, POSE)
        return runner.predict()

    in_order = run([(0, 10), (STEP_NS, 20), (2 * STEP_NS, 30)])
    shuffled = run([(2 * STEP_NS, 30), (0, 10), (STEP_NS, 20)])
    np.testing.assert_array_equal(in_order.latent, shuffled.latent)
    jittered = run([(0, 10), (STEP_NS - 3_000_000, 20), (2 * STEP_NS, 30)])
    np.testing.assert_array_equal(in_order.latent, jittered.latent)
    other_history = run([(0, 10), (STEP_NS, 99), (2 * STEP_NS, 30)])
    assert not np.array_equal(in_order.latent, other_history.latent)


def test_images_are_encoded_once_and_resized(model_dir):
    runner = PolicyRunner(model_dir, "cpu", "faive", seed=0)
    calls = []
    original = runner.networks.encode
    runner.networks.encode = lambda c, im: calls.append(len(im)) or original(c, im)
    for i in range(4):
        runner.push_image("external", i * STEP_NS, np.zeros((64, 48, 3), np.uint8))  # resized
        runner.push_arm_pose(i * STEP_NS, POSE)
        runner.predict()
    # one new frame per chunk: the previous frame's features come from the cache (the first
    # chunk pads its history with the same frame)
    assert calls == [1, 1, 1, 1]


def test_embodiment_swap_changes_cameras_and_statistics(model_dir):
    runner = PolicyRunner(model_dir, "cpu", "faive", seed=0)
    runner.push_image("external", 0, _image(5))
    runner.push_arm_pose(0, POSE)
    assert runner.predict().latent.max() <= 1 + 1e-5
    runner.set_embodiment("mimic")
    with pytest.raises(NotReady, match="wrist"):
        runner.predict()
    runner.push_image("wrist", 0, _image(5))
    assert runner.predict().embodiment == "mimic"
    with pytest.raises(KeyError, match="trained on"):
        runner.set_embodiment("franka_gripper")


def test_predict_while_another_thread_pushes(model_dir):
    runner = PolicyRunner(model_dir, "cpu", "faive", seed=0)
    runner.push_image("external", 0, _image(0))
    runner.push_arm_pose(0, POSE)
    stop, errors = threading.Event(), []

    def camera_thread():
        stamp = 0
        while not stop.is_set():
            stamp += STEP_NS // 4
            try:
                runner.push_image("external", stamp, _image(stamp // STEP_NS % 255))
                runner.push_arm_pose(stamp, POSE)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

    pusher = threading.Thread(target=camera_thread)
    pusher.start()
    try:
        stamps = [runner.predict().stamp_ns for _ in range(6)]
    finally:
        stop.set()
        pusher.join()
    assert not errors
    assert stamps == sorted(stamps) and stamps[-1] > 0
    assert len(runner._features) <= 2  # the cache holds only the current history


def test_bad_inputs_are_refused(model_dir):
    runner = PolicyRunner(model_dir, "cpu", "faive")
    with pytest.raises(KeyError, match="unknown camera"):
        runner.push_image("left", 0, _image(0))
    with pytest.raises(ValueError, match="7 finite"):
        runner.push_arm_pose(0, np.array([0, 0, np.nan, 0, 0, 0, 1.0]))


def test_bfloat16_inference_stays_close_to_float32(model_dir, tmp_path):
    import json
    import shutil
    directories = []
    for precision in ("float32", "bfloat16"):
        directory = shutil.copytree(model_dir, tmp_path / precision)
        info = json.loads((directory / "config.json").read_text())
        info["policy"]["precision"] = precision
        (directory / "config.json").write_text(json.dumps(info))
        directories.append(directory)
    chunks = []
    for directory in directories:
        runner = PolicyRunner(str(directory), "cpu", "faive", seed=0)
        runner.push_image("external", 0, _image(70))
        runner.push_arm_pose(0, POSE)
        chunks.append(runner.predict())
    assert runner.dtype == torch.bfloat16 and chunks[1].latent.dtype == np.float32
    difference = np.abs(chunks[0].latent - chunks[1].latent).max()
    assert difference < 0.1


def test_bench_measures_a_tiny_policy():
    from lad_ros.policy.bench import measure
    config = policy_config_from_dict(tiny_policy(), "p.yaml")
    row = measure("transformer", config, latent_dim=4, iterations=2)
    assert row["horizon"] == 8 and row["action"] == "4+6" and row["cameras"] == 1
    assert 0 < row["encode_p50"] <= row["total_p50"] and row["cpu_p50"] > 0
    assert row["compiled"] is False and row["startup_s"] > 0


def test_a_stream_that_stopped_is_not_used(model_dir):
    runner = PolicyRunner(model_dir, "cpu", "faive", seed=0)
    runner.push_arm_pose(0, POSE)
    runner.push_image("external", 0, _image(1))
    runner.predict()
    runner.push_image("external", 10 * STEP_NS, _image(2))  # the arm stopped publishing
    with pytest.raises(NotReady, match="arm pose is stale"):
        runner.predict()


def _tiny_model_dir(directory, **overrides) -> str:
    torch.manual_seed(0)
    config = policy_config_from_dict({**tiny_policy(), **overrides}, "p.yaml")
    model = LatentDiffusionPolicy(config, latent_dim=4)
    stats = {"faive": {"latent": _stats(4, -1, 1), "arm": _stats(6, -1, 1),
                       "arm_pose_obs": _stats(ARM_POSE_OBS_DIM, -1, 1)}}
    return str(save_policy(directory, model, Normalizer(stats), ["faive"]))


def _chunk(runner, value=60):
    runner.push_image("external", 0, _image(value))
    runner.push_arm_pose(0, POSE)
    return runner.predict()


@pytest.mark.slow
@pytest.mark.parametrize("precision, atol", [("float32", 1e-4), ("bfloat16", 0.1)])
def test_compiled_networks_give_the_eager_chunk(tmp_path, precision, atol):
    # bfloat16 compiles with autotuned kernels (the shipped path on CPUs with native bf16)
    model_dir = _tiny_model_dir(tmp_path, precision=precision, compile=True)
    compiled = PolicyRunner(model_dir, "cpu", "faive", seed=0)
    assert compiled.networks.compiled, compiled.networks.compile_error
    assert compiled.networks.denoiser is not compiled.model.denoiser  # really the compiled one
    eager = PolicyRunner(model_dir, "cpu", "faive", seed=0, compile=False)
    assert not eager.networks.compiled
    a, b = _chunk(compiled), _chunk(eager)
    np.testing.assert_allclose(a.latent, b.latent, atol=atol)
    np.testing.assert_allclose(a.arm, b.arm, atol=atol)


def test_a_failing_compiler_leaves_the_runner_in_eager_mode(tmp_path, monkeypatch):
    def broken_compile(module, **_):
        def call(*args, **kwargs):
            raise RuntimeError("no C++ compiler found")
        return call
    monkeypatch.setattr(torch, "compile", broken_compile)
    model_dir = _tiny_model_dir(tmp_path, compile=True)
    with pytest.warns(RuntimeWarning, match="eager mode.*no C\\+\\+ compiler"):
        runner = PolicyRunner(model_dir, "cpu", "faive", seed=0)
    assert not runner.networks.compiled and "no C++ compiler" in runner.networks.compile_error
    assert np.all(np.isfinite(_chunk(runner).latent))


def test_encoding_and_denoising_run_with_their_own_thread_counts(tmp_path, monkeypatch):
    runner = PolicyRunner(_tiny_model_dir(tmp_path, threads=2, denoise_threads=1), "cpu",
                          "faive", seed=0)
    seen = []
    original_encode, original_denoise = runner.networks.encode, runner.networks.denoise
    runner.networks.encode = lambda *a: seen.append(("encode", torch.get_num_threads())) \
        or original_encode(*a)
    runner.networks.denoise = lambda *a: seen.append(("denoise", torch.get_num_threads())) \
        or original_denoise(*a)
    _chunk(runner)
    assert set(seen) == {("encode", 2), ("denoise", 1)}


def test_compiled_networks_that_disagree_with_eager_are_dropped(tmp_path, monkeypatch):
    def off_by_one_compile(module, **_):
        return lambda *args: module(*args) + 1.0
    monkeypatch.setattr(torch, "compile", off_by_one_compile)
    model_dir = _tiny_model_dir(tmp_path, compile=True)
    with pytest.warns(RuntimeWarning, match="image encoder 0 differs from eager"):
        runner = PolicyRunner(model_dir, "cpu", "faive", seed=0)
    assert not runner.networks.compiled
    eager = PolicyRunner(model_dir, "cpu", "faive", seed=0, compile=False)
    np.testing.assert_array_equal(_chunk(runner).latent, _chunk(eager).latent)
