"""Training batches by the paper's co-training rule (§6.5).

Each batch of B holds per-dataset sub-batches of about B * w_j samples; a sub-batch's hand
actions are projected into the latent space, the sub-batch is normalized (with its dataset's
statistics, or shared ones), and the sub-batches are concatenated. Cameras an embodiment does
not have are zero images with mask 0 (asymmetric observations).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lad_ros.config import ConfigError
from lad_ros.data.episodes import CoTrainSampler, Episode, Window, make_window, window_index
from lad_ros.policy.arm_actions import relative_poses
from lad_ros.policy.config import PolicyConfig
from lad_ros.policy.normalizer import SHARED_GROUP, Normalizer, RangeStats
from lad_ros.policy.projector import ActionProjector

STATS_WINDOWS = 20000  # windows per dataset used for statistics (a random subset when more)


@dataclass
class Batch:
    images: list[torch.Tensor]   # per camera uint8 [B, T, H, W, 3]
    camera_mask: torch.Tensor    # [B, C]
    arm_pose_obs: torch.Tensor   # [B, T, 9] normalized
    actions: torch.Tensor        # [B, horizon, latent + arm] normalized


def arm_pose_history(window_poses: np.ndarray) -> np.ndarray:
    """Observed poses [T, 7] relative to the newest one -> [T, 9]."""
    return relative_poses(window_poses[-1], window_poses)


def check_cameras(config: PolicyConfig, episodes: list[Episode], dataset: str) -> None:
    """Every camera the config gives this embodiment must be recorded, at the configured size."""
    for camera, present in zip(config.cameras, config.cameras_for(episodes[0].embodiment)):
        if not present:
            continue
        for episode in episodes:
            if camera.name not in episode.images:
                raise ConfigError(str(episode.path / "meta.json"), "cameras",
                                  f"camera '{camera.name}' (the policy config gives it to "
                                  f"'{episode.embodiment}')", sorted(episode.images))
            shape = tuple(episode.images[camera.name].shape[1:3])
            if shape != config.image_size:
                raise ConfigError(str(episode.path / "images" / f"{camera.name}.npy"), "shape",
                                  f"images of {list(config.image_size)} (policy image_size)",
                                  list(shape))


class TrainingData:
    def __init__(self, config: PolicyConfig, datasets: list[list[Episode]],
                 weights: list[float], projector: ActionProjector, seed: int = 0):
        self.config, self.datasets, self.projector = config, datasets, projector
        self.camera_names = [c.name for c in config.cameras]
        self.sampler = CoTrainSampler(datasets, weights, config.train.batch_size, seed)
        self.normalizer = self._statistics(np.random.default_rng(seed))

    def group(self, embodiment: str) -> str:
        return embodiment if self.config.normalization == "per_dataset" else SHARED_GROUP

    def _window(self, episodes: list[Episode], episode: int, frame: int) -> Window:
        c = self.config
        return make_window(episodes[episode], frame, c.n_obs_steps, c.horizon, c.arm_action,
                           self.camera_names)

    def _raw(self, episodes: list[Episode], pairs: np.ndarray) -> dict:
        """Un-normalized arrays of the windows at (episode, frame) pairs."""
        windows = [self._window(episodes, e, f) for e, f in pairs]
        hand = np.stack([w.hand_actions for w in windows])
        latent = self.projector.encode(episodes[0].embodiment, hand.reshape(-1, hand.shape[-1]))
        return {"windows": windows,
                "latent": np.asarray(latent, np.float32).reshape(len(windows), hand.shape[1], -1),
                "arm": np.stack([w.arm_actions for w in windows]),
                "arm_pose_obs": np.stack([arm_pose_history(w.arm_pose_history)
                                          for w in windows])}

    def _statistics(self, rng: np.random.Generator) -> Normalizer:
        collected: dict[str, dict[str, list]] = {}
        for episodes in self.datasets:
            index = window_index(episodes)
            if len(index) > STATS_WINDOWS:
                index = index[rng.choice(len(index), STATS_WINDOWS, replace=False)]
            raw = self._raw(episodes, index)
            keys = collected.setdefault(self.group(episodes[0].embodiment), {})
            for key in ("latent", "arm", "arm_pose_obs"):
                keys.setdefault(key, []).append(raw[key])
        return Normalizer({group: {k: RangeStats.of(np.concatenate(v)) for k, v in keys.items()}
                           for group, keys in collected.items()})

    def batch(self) -> Batch:
        images = {c: [] for c in self.camera_names}
        masks, arm_obs, actions = [], [], []
        for episodes, pairs in zip(self.datasets, self.sampler.sample()):
            if len(pairs) == 0:
                continue
            embodiment = episodes[0].embodiment
            raw = self._raw(episodes, pairs)
            group = self.group(embodiment)
            actions.append(np.concatenate(
                [self.normalizer.get(group, "latent").normalize(raw["latent"]),
                 self.normalizer.get(group, "arm").normalize(raw["arm"])], axis=-1))
            arm_obs.append(self.normalizer.get(group, "arm_pose_obs").normalize(
                raw["arm_pose_obs"]))
            present = self.config.cameras_for(embodiment)
            masks.append(np.tile(np.array(present, np.float32), (len(pairs), 1)))
            for camera, has in zip(self.camera_names, present):
                if has:
                    images[camera].append(np.stack([w.images[camera] for w in raw["windows"]]))
                else:
                    images[camera].append(np.zeros(
                        (len(pairs), self.config.n_obs_steps, *self.config.image_size, 3),
                        np.uint8))
        return Batch(images=[torch.from_numpy(np.concatenate(images[c]))
                             for c in self.camera_names],
                     camera_mask=torch.from_numpy(np.concatenate(masks)),
                     arm_pose_obs=torch.from_numpy(np.concatenate(arm_obs)),
                     actions=torch.from_numpy(np.concatenate(actions)))
