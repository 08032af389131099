"""PolicyRunner: observation history in, time-stamped latent + arm action chunk out. No ROS.

Threading: one thread (the ROS subscriptions) pushes images and arm poses, another (the policy
node's worker) calls `predict()`. Pushes only take a short lock; `predict()` snapshots the
history under that lock and runs the network outside it, under its own lock.

Alignment on capture stamps: t0 is the newest image stamp of the reference camera (the first
camera this embodiment has); the observation grid is t0 - (n_obs_steps - 1 - j) * dt, and each
stream contributes its last sample at or before each grid time (the oldest sample when the
history is still shorter than the grid, as training pads episode starts). Chunk point i is the
action for time t0 + i * dt.
"""
from __future__ import annotations

import bisect
import threading
import time
import warnings
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from lad_ros.policy import omp_wait_policy_problem
from lad_ros.policy.arm_actions import target_poses
from lad_ros.policy.batches import arm_pose_history
from lad_ros.policy.checkpoint import load_policy
from lad_ros.policy.diffusion import inference_scheduler, sample_actions
from lad_ros.policy.inference import InferenceNetworks
from lad_ros.policy.model import crop_images, obs_dim

HISTORY_LENGTH = 64  # samples kept per stream; far more than any observation grid needs
STALE_AFTER_STEPS = 2.0  # a stream whose newest sample is older than t0 - 2 dt has stopped


class NotReady(RuntimeError):
    """predict() was called before every stream the policy needs has data for time t0."""


@dataclass(frozen=True)
class Chunk:
    latent: np.ndarray       # [H, latent_dim] un-normalized latent hand actions
    arm: np.ndarray          # [H, 6 or 9] arm actions in the policy's representation
    stamp_ns: int            # t0: capture stamp of the newest observation
    dt: float                # seconds between chunk points
    start_pose: np.ndarray   # [7] arm pose at t0 (xyz + quaternion xyzw)
    arm_action: str          # "delta" or "relative"
    embodiment: str
    timings_ms: dict = field(default_factory=dict)  # "encode", "denoise", "total"

    def arm_targets(self) -> np.ndarray:
        """Absolute arm target poses [H, 7], point i for time stamp_ns + i * dt."""
        return target_poses(self.start_pose, self.arm, self.arm_action)


class _Stream:
    """Samples sorted by capture stamp (arrival order does not matter)."""

    def __init__(self):
        self.stamps: list[int] = []
        self.values: list = []

    def push(self, stamp_ns: int, value) -> None:
        i = bisect.bisect_right(self.stamps, stamp_ns)
        if i and self.stamps[i - 1] == stamp_ns:
            self.values[i - 1] = value
            return
        self.stamps.insert(i, stamp_ns)
        self.values.insert(i, value)
        if len(self.stamps) > HISTORY_LENGTH:
            del self.stamps[0], self.values[0]

    def at_or_before(self, stamp_ns: int) -> tuple[int, object] | None:
        i = bisect.bisect_right(self.stamps, stamp_ns)
        if i == 0:
            return None
        return self.stamps[i - 1], self.values[i - 1]

    def aligned(self, grid: list[int]) -> list[tuple[int, object]] | None:
        """The sample for each grid time; None if nothing is at or before the newest."""
        if self.at_or_before(grid[-1]) is None:
            return None
        return [self.at_or_before(t) or (self.stamps[0], self.values[0]) for t in grid]


def cpu_has_native_bfloat16() -> bool:
    """AVX512-BF16 or AMX: bfloat16 matrix products run at about twice the float32 speed there;
    elsewhere they are emulated and slower than float32."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            flags = next((line for line in stream if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def inference_dtype(precision: str, device: torch.device) -> torch.dtype:
    if precision == "auto":
        native = device.type == "cpu" and cpu_has_native_bfloat16()
        return torch.bfloat16 if native else torch.float32
    return torch.bfloat16 if precision == "bfloat16" else torch.float32


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class PolicyRunner:
    def __init__(self, model_dir: str, device: str = "auto", embodiment: str | None = None,
                 seed: int | None = None, compile: bool | None = None):
        """compile: torch.compile the networks (None: the model config's `compile`); the
        first chunks then take a few seconds (warm-up compiles them)."""
        self.device = pick_device(device)
        loaded = load_policy(model_dir, self.device)
        self.model, self.config, self.normalizer = loaded.model, loaded.config, loaded.normalizer
        self.embodiments = loaded.embodiments
        self.dtype = inference_dtype(self.config.precision, self.device)
        if self.device.type == "cpu":
            problem = omp_wait_policy_problem()
            if problem and max(self.config.threads, self.config.denoise_threads) > 1:
                warnings.warn(problem, RuntimeWarning, stacklevel=2)
        self.networks = InferenceNetworks(
            self.model, self.dtype, self.device, self.config.threads,
            self.config.denoise_threads, self.config.compile if compile is None else compile)
        self.dt = 1.0 / self.config.fps
        self.scheduler = inference_scheduler(self.config.diffusion)
        self.inference_steps = self.config.diffusion.inference_steps
        self.generator = torch.Generator(self.device)
        if seed is not None:
            self.generator.manual_seed(seed)
        self._lock, self._inference_lock = threading.Lock(), threading.Lock()
        self._images = {c.name: _Stream() for c in self.config.cameras}
        self._arm = _Stream()
        self._features: dict[tuple[str, int], torch.Tensor] = {}
        self.set_embodiment(embodiment or self.embodiments[0])
        self.warm_up(self.config.warmup_iterations)

    # -- configuration -----------------------------------------------------------------------
    def set_embodiment(self, embodiment: str) -> None:
        """Select the end-effector: its normalization statistics and which cameras it has."""
        self.normalizer.get(self.normalizer_group(embodiment), "latent")  # KeyError if unknown
        present = self.config.cameras_for(embodiment)
        if not any(present):
            raise ValueError(f"the policy has no camera for '{embodiment}'")
        with self._inference_lock:
            self.embodiment = embodiment
            self.camera_present = present
            self.reference_camera = self.config.cameras[present.index(True)].name

    def normalizer_group(self, embodiment: str) -> str:
        return embodiment if self.config.normalization == "per_dataset" else "all"

    # -- observations (any thread) -----------------------------------------------------------
    def push_image(self, camera: str, stamp_ns: int, image: np.ndarray) -> None:
        """RGB uint8 [H, W, 3]; resized to the policy's image size when it differs."""
        if camera not in self._images:
            raise KeyError(f"unknown camera '{camera}'; the policy uses "
                           f"{[c.name for c in self.config.cameras]}")
        height, width = self.config.image_size
        if image.shape[:2] != (height, width):
            image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        with self._lock:
            self._images[camera].push(int(stamp_ns), np.ascontiguousarray(image, np.uint8))

    def push_arm_pose(self, stamp_ns: int, pose: np.ndarray) -> None:
        """Arm pose [7]: xyz + quaternion xyzw in the arm base frame."""
        pose = np.asarray(pose, dtype=np.float32)
        if pose.shape != (7,) or not np.all(np.isfinite(pose)):
            raise ValueError(f"arm pose must be 7 finite numbers, got {pose!r}")
        with self._lock:
            self._arm.push(int(stamp_ns), pose)

    # -- inference (one worker thread) -------------------------------------------------------
    def _snapshot(self):
        """The aligned samples for the newest reference image, or NotReady saying why."""
        with self._lock:
            newest = self._images[self.reference_camera].stamps[-1:] or None
            if newest is None:
                raise NotReady(f"no image from camera '{self.reference_camera}' yet")
            t0 = newest[0]
            step_ns = int(round(self.dt * 1e9))
            grid = [t0 - (self.config.n_obs_steps - 1 - j) * step_ns
                    for j in range(self.config.n_obs_steps)]
            cameras = {}
            for spec, present in zip(self.config.cameras, self.camera_present):
                if present:
                    cameras[spec.name] = self._fresh(self._images[spec.name], grid,
                                                     f"camera '{spec.name}'")
            arm = self._fresh(self._arm, grid, "arm pose")  # the chunk-start pose is needed
        return t0, cameras, arm

    def _fresh(self, stream: _Stream, grid: list[int], what: str) -> list:
        """Aligned samples of a stream, refusing one that stopped before t0 (a stale pose
        would silently shift every arm target)."""
        samples = stream.aligned(grid)
        if samples is None:
            raise NotReady(f"no {what} at or before t0")
        age_s = (grid[-1] - samples[-1][0]) / 1e9
        if age_s > STALE_AFTER_STEPS * self.dt:
            raise NotReady(f"{what} is stale: newest sample {age_s:.3f} s before t0")
        return samples

    def _camera_features(self, camera: str, index: int, samples) -> torch.Tensor:
        """[T, F] features, encoding only frames not seen by an earlier predict()."""
        new = [(s, im) for s, im in dict(samples).items() if (camera, s) not in self._features]
        if new:
            images = torch.from_numpy(np.stack([im for _, im in new])).to(self.device)
            features = self.networks.encode(index, crop_images(images, self.config.crop_size))
            for (stamp, _), feature in zip(new, features):
                self._features[(camera, stamp)] = feature
        return torch.stack([self._features[(camera, s)] for s, _ in samples])

    def _prune_features(self, cameras: dict) -> None:
        keep = {(c, s) for c, samples in cameras.items() for s, _ in samples}
        for key in list(self._features):
            if key not in keep:
                del self._features[key]

    def predict(self) -> Chunk:
        with self._inference_lock, torch.inference_mode():
            start = time.perf_counter()
            t0, cameras, arm = self._snapshot()
            group = self.normalizer_group(self.embodiment)
            n_obs, feature_dim = self.config.n_obs_steps, self.config.encoder.feature_dim
            features = []
            with self.networks.phase("encode"):
                for index, (spec, present) in enumerate(zip(self.config.cameras,
                                                            self.camera_present)):
                    features.append(
                        self._camera_features(spec.name, index, cameras[spec.name]) if present
                        else torch.zeros(n_obs, feature_dim, dtype=self.dtype, device=self.device))
            self._prune_features(cameras)
            poses = np.stack([pose for _, pose in arm])
            arm_obs = self.normalizer.get(group, "arm_pose_obs").normalize(
                arm_pose_history(poses))
            cond = self.model.condition(
                torch.stack(features, dim=1)[None],
                torch.tensor([self.camera_present], dtype=self.dtype, device=self.device),
                torch.from_numpy(arm_obs)[None].to(self.device, self.dtype))
            encoded = time.perf_counter()
            shape = (1, self.config.horizon, self.model.action_dim)
            with self.networks.phase("denoise"):
                sample = sample_actions(self.networks.denoise, self.scheduler, cond, shape,
                                        self.inference_steps, self.generator)
            sample = sample[0].float().cpu().numpy()
            done = time.perf_counter()
            latent_dim = self.model.latent_dim
            return Chunk(
                latent=self.normalizer.get(group, "latent").unnormalize(sample[:, :latent_dim]),
                arm=self.normalizer.get(group, "arm").unnormalize(sample[:, latent_dim:]),
                stamp_ns=t0, dt=self.dt, start_pose=poses[-1], arm_action=self.config.arm_action,
                embodiment=self.embodiment,
                timings_ms={"encode": (encoded - start) * 1e3, "denoise": (done - encoded) * 1e3,
                            "total": (done - start) * 1e3})

    def warm_up(self, iterations: int) -> None:
        """Run the networks on blank observations: the first calls allocate, pick kernels and,
        with compile on, compile (falling back to eager mode if that fails)."""
        if self.networks.compiled:
            iterations = max(iterations, 1)  # compile here, not in the first real chunk
        if iterations <= 0:
            return
        with self._inference_lock, torch.inference_mode():
            for _ in range(iterations):
                try:
                    self._blank_chunk()
                    if self.networks.compiled:
                        self._check_compiled()
                except Exception as error:  # noqa: BLE001 - any compiler failure: run eager
                    if not self.networks.compiled:
                        raise
                    self.networks.fall_back_to_eager(error)
                    self._blank_chunk()

    def _check_compiled(self) -> None:
        """Compiled and eager networks must agree on random inputs, or eager it is."""
        generator = torch.Generator(self.device).manual_seed(0)
        height, width = self.config.crop_size
        images = torch.randint(0, 256, (1, height, width, 3), generator=generator,
                               dtype=torch.uint8, device=self.device).permute(0, 3, 1, 2)
        sample = torch.randn(1, self.config.horizon, self.model.action_dim, generator=generator,
                             device=self.device)
        cond = torch.randn(1, self.config.n_obs_steps, obs_dim(self.config),
                           generator=generator, device=self.device).to(self.dtype)
        timestep = torch.tensor([self.config.diffusion.train_steps // 2], device=self.device)
        problem = self.networks.disagreement_with_eager(images, sample, timestep, cond)
        if problem:
            self.networks.fall_back_to_eager(problem)

    def _blank_chunk(self) -> None:
        height, width = self.config.image_size
        blank = torch.zeros(self.config.n_obs_steps, height, width, 3, dtype=torch.uint8,
                            device=self.device)
        with self.networks.phase("encode"):
            features = torch.stack([self.networks.encode(
                i, crop_images(blank, self.config.crop_size))
                for i in range(len(self.config.cameras))], dim=1)[None]
        mask = torch.ones(1, len(self.config.cameras), dtype=self.dtype, device=self.device)
        cond = self.model.condition(features, mask, torch.zeros(
            1, self.config.n_obs_steps, 9, dtype=self.dtype, device=self.device))
        with self.networks.phase("denoise"):
            sample_actions(self.networks.denoise, self.scheduler, cond,
                           (1, self.config.horizon, self.model.action_dim),
                           self.inference_steps, torch.Generator(self.device))  # seed untouched
