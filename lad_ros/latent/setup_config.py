"""A latent-model setup (config/latent/<setup>.yaml) as a frozen, validated dataclass."""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from lad_ros.config import ConfigError, Fields, read_yaml
from lad_ros.embodiment import KNOWN_EMBODIMENTS, share_dir

OPTIMIZERS = ("adam", "adamw")


@dataclass(frozen=True)
class Schedule:
    batch_size: int
    encoder_epochs: int
    decoder_epochs: int
    finetune_encoders: bool
    anneal_temperature: bool
    lr: float


@dataclass(frozen=True)
class LatentSetup:
    file: str
    setup: str
    embodiments: tuple[str, ...]
    latent_dim: int
    dropout: float
    input_layernorm: bool
    hidden: dict            # embodiment -> tuple of hidden sizes
    tau_start: float
    tau_end: float
    contrastive_weight: float
    cross_reconstruction_weight: float  # 0 = the paper (stage B learns self-reconstruction only)
    optimizer: str
    weight_decay: float
    encoder_lr_scale: float
    training: Schedule
    paper: dict             # the paper's schedule, recorded for the docs and the model JSON
    train_samples: int
    train_seed: int
    heldout_samples: int
    heldout_seed: int

    @property
    def lr(self) -> float:
        return self.training.lr

    def with_ablation(self, *, anneal_temperature: bool, finetune_encoders: bool) -> "LatentSetup":
        """The same setup with the Table 1 switches set (w/o TA: constant tau = tau_end)."""
        return replace(self, training=replace(self.training, anneal_temperature=anneal_temperature,
                                              finetune_encoders=finetune_encoders))

    def with_epochs(self, encoder_epochs: int, decoder_epochs: int) -> "LatentSetup":
        return replace(self, training=replace(self.training, encoder_epochs=encoder_epochs,
                                              decoder_epochs=decoder_epochs))

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("file")
        data["hidden"] = {k: list(v) for k, v in self.hidden.items()}
        return data


def _positive_int(fields: Fields, key: str) -> int:
    value = fields.req(key, int)
    if value < 1:
        raise fields.error(key, "an integer >= 1", value)
    return value


def _schedule(fields: Fields) -> Schedule:
    return Schedule(batch_size=_positive_int(fields, "batch_size"),
                    encoder_epochs=_positive_int(fields, "encoder_epochs"),
                    decoder_epochs=_positive_int(fields, "decoder_epochs"),
                    finetune_encoders=fields.req("finetune_encoders", bool),
                    anneal_temperature=fields.opt("anneal_temperature", bool, True),
                    lr=fields.number("lr", minimum=1e-9))


def load_setup_file(path: str | os.PathLike) -> LatentSetup:
    path = str(path)
    top = Fields(path, read_yaml(path))
    top.keys_known({"setup", "embodiments", "latent_dim", "dropout", "input_layernorm", "hidden",
                    "loss", "optimizer", "training", "data", "paper"})
    embodiments = top.vector("embodiments", kind=str)
    if len(embodiments) < 2 or len(set(embodiments)) != len(embodiments):
        raise top.error("embodiments", "at least two distinct embodiment names", list(embodiments))
    for name in embodiments:
        if name not in KNOWN_EMBODIMENTS:
            raise top.error("embodiments", f"names from {sorted(KNOWN_EMBODIMENTS)}", name)
    hidden_fields = top.sub("hidden")
    hidden_fields.keys_known(set(embodiments))
    hidden = {}
    for name in embodiments:
        sizes = hidden_fields.vector(name, kind=int)
        if not sizes or min(sizes) < 1:
            raise hidden_fields.error(name, "a non-empty list of positive layer sizes", sizes)
        hidden[name] = sizes
    loss, opt, data = top.sub("loss"), top.sub("optimizer"), top.sub("data")
    loss.keys_known({"tau_start", "tau_end", "contrastive_weight", "cross_reconstruction_weight"})
    opt.keys_known({"kind", "weight_decay", "encoder_lr_scale"})
    data.keys_known({"train_samples", "train_seed", "heldout_samples", "heldout_seed"})
    training_fields = top.sub("training")
    training_fields.keys_known({"batch_size", "encoder_epochs", "decoder_epochs",
                                "finetune_encoders", "anneal_temperature", "lr"})
    setup = LatentSetup(
        file=path,
        setup=top.req("setup", str),
        embodiments=embodiments,
        latent_dim=_positive_int(top, "latent_dim"),
        dropout=top.number("dropout", default=0.0, minimum=0.0, maximum=0.9),
        input_layernorm=top.opt("input_layernorm", bool, True),
        hidden=hidden,
        tau_start=loss.number("tau_start", minimum=1e-4),
        tau_end=loss.number("tau_end", minimum=1e-4),
        contrastive_weight=loss.number("contrastive_weight", minimum=0.0),
        cross_reconstruction_weight=loss.number("cross_reconstruction_weight", default=0.0,
                                                minimum=0.0),
        optimizer=opt.choice("kind", OPTIMIZERS),
        weight_decay=opt.number("weight_decay", minimum=0.0),
        encoder_lr_scale=opt.number("encoder_lr_scale", minimum=0.0),
        training=_schedule(training_fields),
        paper=asdict(_schedule(top.sub("paper"))),
        train_samples=_positive_int(data, "train_samples"),
        train_seed=data.req("train_seed", int),
        heldout_samples=_positive_int(data, "heldout_samples"),
        heldout_seed=data.req("heldout_seed", int),
    )
    if setup.heldout_seed == setup.train_seed:
        raise data.error("heldout_seed", f"a seed different from train_seed ({setup.train_seed})",
                         setup.heldout_seed)
    return setup


def setup_file(name_or_path: str) -> Path:
    """`human_faive_gripper` -> config/latent/human_faive_gripper.yaml; a path stays a path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return share_dir() / "config" / "latent" / f"{name_or_path}.yaml"


def load_setup(name_or_path: str) -> LatentSetup:
    path = setup_file(name_or_path)
    if not path.is_file():
        available = sorted(p.stem for p in (share_dir() / "config" / "latent").glob("*.yaml"))
        raise ConfigError(str(path), "<file>", f"an existing setup file (shipped: {available})")
    return load_setup_file(path)
