"""Policy configuration: one YAML file for training, stored as config.json next to the weights.

The same loader validates both, so a model directory carries everything the runner needs and a
bad field in either fails at load with the file and field named.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

from lad_ros.config import ConfigError, Fields, read_yaml

ARM_ACTIONS = {"delta": 6, "relative": 9}  # 6-D deltas; translation + 6-D rotation
DENOISERS = ("transformer", "unet")
OPTIMIZERS = ("adamw", "adam")
NORMALIZATIONS = ("per_dataset", "shared")
PRECISIONS = ("auto", "float32", "bfloat16")


@dataclass(frozen=True)
class CameraSpec:
    name: str
    embodiments: tuple[str, ...] | None = None  # None: every embodiment has this camera


@dataclass(frozen=True)
class DatasetSpec:
    path: str
    weight: float = 1.0


@dataclass(frozen=True)
class EncoderSpec:
    width: int = 64          # ResNet18 first-stage channels (64 = the real ResNet18)
    norm: str = "group"
    shared: bool = True      # one encoder for all cameras, or one per camera
    feature_dim: int = 256


@dataclass(frozen=True)
class TransformerSpec:
    layers: int = 8
    heads: int = 4
    width: int = 256
    causal: bool = True
    dropout_attention: float = 0.3
    dropout_embedding: float = 0.0


@dataclass(frozen=True)
class UnetSpec:
    down_dims: tuple[int, ...] = (256, 512, 1024)
    kernel_size: int = 5
    groups: int = 8
    step_embed_dim: int = 128
    full_resolution_skip: bool = True    # False: Chi et al.'s network exactly


@dataclass(frozen=True)
class DiffusionSpec:
    train_steps: int = 100
    inference_steps: int = 10
    beta_schedule: str = "squaredcos_cap_v2"
    clip_sample: bool = True


@dataclass(frozen=True)
class TrainSpec:
    steps: int = 90000
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 1e-4
    weight_decay: float = 1e-3
    warmup_steps: int = 500
    ema_max_decay: float = 0.9999
    ema_power: float = 0.75
    checkpoint_every: int = 5000
    seed: int = 0


@dataclass(frozen=True)
class PolicyConfig:
    name: str
    horizon: int
    fps: float
    arm_action: str
    cameras: tuple[CameraSpec, ...]
    image_size: tuple[int, int]          # stored images, H x W
    crop_size: tuple[int, int]           # random crop in training, centre crop at inference
    n_obs_steps: int = 2
    arm_pose_obs: bool = True            # arm pose history relative to the newest pose
    denoiser: str = "transformer"
    latent_model_dir: str | None = None  # None: no projection (single-embodiment baseline)
    normalization: str = "per_dataset"
    datasets: tuple[DatasetSpec, ...] = ()
    encoder: EncoderSpec = field(default_factory=EncoderSpec)
    transformer: TransformerSpec = field(default_factory=TransformerSpec)
    unet: UnetSpec = field(default_factory=UnetSpec)
    diffusion: DiffusionSpec = field(default_factory=DiffusionSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    threads: int = 2                     # torch intra-op threads for image encoding
    denoise_threads: int = 1             # ... for the denoiser (small matmuls: 1 is fastest)
    warmup_iterations: int = 2
    precision: str = "auto"              # inference; auto = bfloat16 on CPUs with native bf16
    compile: bool = False                # inference: torch.compile (inductor, frozen weights)

    @property
    def arm_dim(self) -> int:
        return ARM_ACTIONS[self.arm_action]

    def cameras_for(self, embodiment: str) -> list[bool]:
        """Which of the policy's cameras an embodiment has (the others are zero-padded)."""
        return [c.embodiments is None or embodiment in c.embodiments for c in self.cameras]

    def to_dict(self) -> dict:
        return asdict(self)


def _positive(fields: Fields, key: str, default: int | None) -> int:
    """An integer >= 1; required when default is None."""
    value = fields.req(key, int) if default is None else fields.opt(key, int, default)
    if value < 1:
        raise fields.error(key, "an integer >= 1", value)
    return value


def _size(fields: Fields, key: str, default=None) -> tuple[int, int]:
    value = fields.vector(key, 2, int, default=default)
    if value is None or min(value) < 8:
        raise fields.error(key, "[height, width], each >= 8 pixels", value)
    return tuple(value)


def _section(fields: Fields, key: str, spec_type, build):
    section = fields.sub(key, required=False)
    if section is None:
        return spec_type()
    return build(section, spec_type())


def _encoder(f: Fields, d: EncoderSpec) -> EncoderSpec:
    f.keys_known({"width", "norm", "shared", "feature_dim"})
    return EncoderSpec(_positive(f, "width", d.width), f.choice("norm", ("group", "batch"), d.norm),
                       f.opt("shared", bool, d.shared), _positive(f, "feature_dim", d.feature_dim))


def _transformer(f: Fields, d: TransformerSpec) -> TransformerSpec:
    f.keys_known({"layers", "heads", "width", "causal", "dropout_attention",
                  "dropout_embedding"})
    spec = TransformerSpec(
        _positive(f, "layers", d.layers), _positive(f, "heads", d.heads),
        _positive(f, "width", d.width), f.opt("causal", bool, d.causal),
        f.number("dropout_attention", d.dropout_attention, minimum=0.0, maximum=0.9),
        f.number("dropout_embedding", d.dropout_embedding, minimum=0.0, maximum=0.9))
    if spec.width % spec.heads:
        raise f.error("width", f"a multiple of heads ({spec.heads})", spec.width)
    return spec


def _unet(f: Fields, d: UnetSpec) -> UnetSpec:
    f.keys_known({"down_dims", "kernel_size", "groups", "step_embed_dim",
                  "full_resolution_skip"})
    spec = UnetSpec(f.vector("down_dims", None, int, d.down_dims),
                    _positive(f, "kernel_size", d.kernel_size), _positive(f, "groups", d.groups),
                    _positive(f, "step_embed_dim", d.step_embed_dim),
                    f.opt("full_resolution_skip", bool, d.full_resolution_skip))
    if len(spec.down_dims) < 2 or any(c % spec.groups for c in spec.down_dims):
        raise f.error("down_dims", f"2 or more channel counts, each a multiple of groups "
                      f"({spec.groups})", list(spec.down_dims))
    return spec


def _diffusion(f: Fields, d: DiffusionSpec) -> DiffusionSpec:
    f.keys_known({"train_steps", "inference_steps", "beta_schedule", "clip_sample"})
    spec = DiffusionSpec(_positive(f, "train_steps", d.train_steps),
                         _positive(f, "inference_steps", d.inference_steps),
                         f.choice("beta_schedule", ("squaredcos_cap_v2", "linear"),
                                  d.beta_schedule),
                         f.opt("clip_sample", bool, d.clip_sample))
    if spec.inference_steps > spec.train_steps:
        raise f.error("inference_steps", f"at most train_steps ({spec.train_steps})",
                      spec.inference_steps)
    return spec


def _train(f: Fields, d: TrainSpec) -> TrainSpec:
    f.keys_known({"steps", "batch_size", "optimizer", "lr", "weight_decay", "warmup_steps",
                  "ema_max_decay", "ema_power", "checkpoint_every", "seed"})
    return TrainSpec(
        _positive(f, "steps", d.steps), _positive(f, "batch_size", d.batch_size),
        f.choice("optimizer", OPTIMIZERS, d.optimizer),
        f.number("lr", d.lr, minimum=0.0, maximum=1.0),
        f.number("weight_decay", d.weight_decay, minimum=0.0),
        f.opt("warmup_steps", int, d.warmup_steps),
        f.number("ema_max_decay", d.ema_max_decay, minimum=0.0, maximum=1.0),
        f.number("ema_power", d.ema_power, minimum=0.0),
        _positive(f, "checkpoint_every", d.checkpoint_every), f.opt("seed", int, d.seed))


TOP_LEVEL = {"name", "horizon", "fps", "arm_action", "cameras", "image_size", "crop_size",
             "n_obs_steps", "arm_pose_obs", "denoiser", "latent_model_dir", "normalization",
             "datasets", "encoder", "transformer", "unet", "diffusion", "train", "threads",
             "denoise_threads", "warmup_iterations", "precision", "compile"}


def policy_config_from_dict(data: dict, file: str, path: str = "") -> PolicyConfig:
    f = Fields(file, data, path)
    f.keys_known(TOP_LEVEL)
    cameras = []
    for item in f.items("cameras"):
        item.keys_known({"name", "embodiments"})
        embodiments = item.opt("embodiments", list, None)
        cameras.append(CameraSpec(item.req("name", str),
                                  None if embodiments is None else
                                  item.vector("embodiments", None, str)))
    if not cameras or len({c.name for c in cameras}) != len(cameras):
        raise f.error("cameras", "one or more cameras with distinct names",
                      [c.name for c in cameras])
    datasets = []
    for item in f.items("datasets", required=False):
        item.keys_known({"path", "weight"})
        datasets.append(DatasetSpec(item.req("path", str),
                                    item.number("weight", 1.0, minimum=1e-9)))
    image_size = _size(f, "image_size")
    crop_size = _size(f, "crop_size", default=image_size)
    if crop_size[0] > image_size[0] or crop_size[1] > image_size[1]:
        raise f.error("crop_size", f"no larger than image_size {list(image_size)}",
                      list(crop_size))
    config = PolicyConfig(
        name=f.req("name", str), horizon=_positive(f, "horizon", None),
        fps=f.number("fps", minimum=1e-3),
        arm_action=f.choice("arm_action", tuple(ARM_ACTIONS)), cameras=tuple(cameras),
        image_size=image_size, crop_size=crop_size,
        n_obs_steps=_positive(f, "n_obs_steps", 2), arm_pose_obs=f.opt("arm_pose_obs", bool, True),
        denoiser=f.choice("denoiser", DENOISERS, "transformer"),
        latent_model_dir=f.opt("latent_model_dir", str, None),
        normalization=f.choice("normalization", NORMALIZATIONS, "per_dataset"),
        datasets=tuple(datasets),
        encoder=_section(f, "encoder", EncoderSpec, _encoder),
        transformer=_section(f, "transformer", TransformerSpec, _transformer),
        unet=_section(f, "unet", UnetSpec, _unet),
        diffusion=_section(f, "diffusion", DiffusionSpec, _diffusion),
        train=_section(f, "train", TrainSpec, _train),
        threads=_positive(f, "threads", 2), denoise_threads=_positive(f, "denoise_threads", 1),
        warmup_iterations=f.opt("warmup_iterations", int, 2),
        precision=f.choice("precision", PRECISIONS, "auto"), compile=f.opt("compile", bool, False))
    if config.denoiser == "unet" and config.horizon % 4:
        raise f.error("horizon", "a multiple of 4 for the U-Net (it halves the sequence twice)",
                      config.horizon)
    return config


def read_json(path: str | os.PathLike, missing_hint: str = "") -> object:
    """Parse a JSON file, or raise a ConfigError naming it."""
    path = str(path)
    try:
        with open(path, encoding="utf-8") as stream:
            return json.load(stream)
    except FileNotFoundError:
        raise ConfigError(path, "<file>", "an existing file" + missing_hint) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(path, "<file>", f"valid JSON ({error})") from None


def load_policy_config(path: str | os.PathLike) -> PolicyConfig:
    """A training config (YAML) or a plain policy config in JSON."""
    path = str(path)
    data = read_json(path) if path.endswith(".json") else read_yaml(path)
    return policy_config_from_dict(data, path)
