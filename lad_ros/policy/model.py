"""The latent diffusion policy network: camera encoders + observation features + denoiser.

The forward pass is split so the runner can cache image features per frame: a frame that was
already encoded for the previous chunk is not encoded again (with 2 observation steps that
halves the image-encoding cost).
"""
from __future__ import annotations

import torch
from torch import nn

from lad_ros.policy.config import PolicyConfig
from lad_ros.policy.resnet import ResNet18
from lad_ros.policy.transformer import TransformerDenoiser
from lad_ros.policy.unet import UnetDenoiser

ARM_POSE_OBS_DIM = 9  # each observed pose relative to the newest one: translation + 6-D rotation


def obs_dim(config: PolicyConfig) -> int:
    cameras = len(config.cameras)
    return (cameras * config.encoder.feature_dim + cameras
            + (ARM_POSE_OBS_DIM if config.arm_pose_obs else 0))


def crop_images(images: torch.Tensor, crop_size: tuple[int, int],
                generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> [N, 3, h, w]: random crop per image when a generator is given
    (training), centre crop otherwise (inference)."""
    n, height, width, _ = images.shape
    h, w = crop_size
    if generator is None:
        top, left = torch.full((n,), (height - h) // 2), torch.full((n,), (width - w) // 2)
    else:
        top = torch.randint(0, height - h + 1, (n,), generator=generator)
        left = torch.randint(0, width - w + 1, (n,), generator=generator)
    if n and bool((top == top[0]).all() and (left == left[0]).all()):
        out = images[:, top[0]:top[0] + h, left[0]:left[0] + w]
    else:
        out = torch.stack([image[t:t + h, l_:l_ + w] for image, t, l_ in zip(images, top, left)])
    return out.permute(0, 3, 1, 2)


class LatentDiffusionPolicy(nn.Module):
    def __init__(self, config: PolicyConfig, latent_dim: int):
        super().__init__()
        self.config, self.latent_dim = config, latent_dim
        self.action_dim = latent_dim + config.arm_dim
        spec = config.encoder
        n_encoders = 1 if spec.shared else len(config.cameras)
        self.image_encoders = nn.ModuleList(
            ResNet18(spec.feature_dim, spec.width, spec.norm) for _ in range(n_encoders))
        arguments = (self.action_dim, config.horizon, obs_dim(config), config.n_obs_steps)
        if config.denoiser == "transformer":
            t = config.transformer
            self.denoiser = TransformerDenoiser(*arguments, t.layers, t.heads, t.width, t.causal,
                                                t.dropout_attention, t.dropout_embedding)
        else:
            u = config.unet
            self.denoiser = UnetDenoiser(*arguments, u.down_dims, u.kernel_size, u.groups,
                                         u.step_embed_dim, u.full_resolution_skip)

    def encode_camera(self, camera: int, images: torch.Tensor) -> torch.Tensor:
        """[N, 3, h, w] cropped images of one camera -> [N, feature_dim]."""
        encoder = self.image_encoders[0 if self.config.encoder.shared else camera]
        return encoder(images)

    def condition(self, features: torch.Tensor, camera_mask: torch.Tensor,
                  arm_pose_obs: torch.Tensor | None) -> torch.Tensor:
        """features [B, T, C, F], camera_mask [B, C] (1 = present), arm_pose_obs [B, T, 9]
        -> [B, T, obs_dim]. Missing cameras are zeroed and flagged, so the network can tell
        "no camera" from "a black image"."""
        b, t = features.shape[:2]
        mask = camera_mask.to(features.dtype)
        parts = [(features * mask[:, None, :, None]).flatten(2),
                 mask[:, None, :].expand(b, t, -1)]
        if self.config.arm_pose_obs:
            parts.append(arm_pose_obs)
        return torch.cat(parts, dim=-1)

    def encode_observations(self, images: list[torch.Tensor], camera_mask: torch.Tensor,
                            arm_pose_obs: torch.Tensor | None) -> torch.Tensor:
        """images: per camera [B, T, 3, h, w] (zeros where missing) -> [B, T, obs_dim]."""
        b, t = images[0].shape[:2]
        features = torch.stack([self.encode_camera(c, im.flatten(0, 1)).view(b, t, -1)
                                for c, im in enumerate(images)], dim=2)
        return self.condition(features, camera_mask, arm_pose_obs)

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor,
                cond: torch.Tensor) -> torch.Tensor:
        return self.denoiser(sample, timestep, cond)
