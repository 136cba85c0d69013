"""One flat configuration for a DCGAN run, saved as JSON with every run and every exported model."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from dcgan.atomic import write_json_atomic
from dcgan.errors import ConfigError

SIZES = (32, 64, 128)
PRIORS = ("uniform", "normal")
PRECISIONS = ("fp32", "bf16")
# The range a person may dial in: the uniform prior's support, or ±3σ of the normal prior.
Z_RANGES = {"uniform": (-1.0, 1.0), "normal": (-3.0, 3.0)}
# DiffAugment's transforms of D's inputs (dcgan.augment), applied in the order given
AUGMENTATIONS = ("color", "translation", "cutout")

# Fields that define the generator and its z contract (kept in exported bundles).
MODEL_FIELDS = ("image_size", "channels", "z_dim", "z_prior", "gf", "df")
# Fields that may change when a run is resumed: its schedule and side work...
SCHEDULE_FIELDS = (
    "steps",
    "epochs",
    "sample_every",
    "checkpoint_every",
    "keep_checkpoints",
    "log_every",
    "eval_every",
    "eval_samples",
    "eval_extractor",
)
# ...and the training knobs that leave the models, the data stream and z alone (a change is recorded in the
# checkpoints): DiffAugment may be switched on mid-run as ADA raises its strength, the learning rates decayed,
# and one-sided label smoothing or the R1 penalty turned on when D overpowers G.
TRAINING_KNOBS = ("g_ema", "augment", "label_smoothing", "r1_gamma", "r1_every", "lr_g", "lr_d")
RESUMABLE_FIELDS = (*SCHEDULE_FIELDS, *TRAINING_KNOBS)


@dataclass
class Config:
    """Everything that defines a DCGAN run (paper defaults, arXiv 1511.06434 section 3)."""

    # model and z contract
    image_size: int = 64
    channels: int = 3
    z_dim: int = 100
    z_prior: str = "uniform"
    gf: int = 64
    df: int = 64
    # optimisation
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    d_steps: int = 1
    label_smoothing: float = 0.0
    # weight γ of the R1 gradient penalty on real images, γ/2·E‖∇ₓD(x)‖² (0 = off; costs a double backprop)
    r1_gamma: float = 0.0
    # lazy R1 (StyleGAN2, Karras et al. 2020, sec. 3.1): the penalty on every r1_every-th step only, weighted
    # γ·r1_every, which spares most double backprops (1 = every step)
    r1_every: int = 1
    # DiffAugment transforms of D's inputs, e.g. "color,translation,cutout" ("" = off; see dcgan.augment)
    augment: str = ""
    # decay of the exponential moving average of G's weights kept beside G and exported (0 = off)
    g_ema: float = 0.999
    # fine-tuning: start G and its EMA from this exported bundle (same model fields), and D from the bundle's
    # discriminator when it has one (`dcgan export --discriminator`) unless init_discriminator is off
    init_generator: str = ""
    init_discriminator: bool = True
    # steps at the start that train only D, so a fresh D catches up with a pretrained G before G moves
    d_warmup: int = 0
    flip: bool = True
    mixed_precision: str = "fp32"
    seed: int = 0
    # schedule and side work
    steps: int = 0
    epochs: float = 0.0
    sample_every: int = 500
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    log_every: int = 50
    # validation during training (0 = off): FID/KID of eval_samples fixed-z faces against the val split
    eval_every: int = 0
    eval_samples: int = 1000
    eval_extractor: str = "inception-fid"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError with a readable message for the first invalid value."""

        def need(ok: bool, message: str) -> None:
            if not ok:
                raise ConfigError(message)

        for f in fields(self):
            value = getattr(self, f.name)
            expected = {"int": int, "float": (int, float), "str": str, "bool": bool}[f.type]
            need(
                isinstance(value, expected) and not (f.type != "bool" and isinstance(value, bool)),
                f"{f.name} must be {f.type}, got {value!r}",
            )
            if f.type == "float":
                need(math.isfinite(value), f"{f.name} must be finite, got {value!r}")
        need(self.image_size in SIZES, f"image_size must be one of {SIZES}, got {self.image_size}")
        need(self.channels in (1, 3), f"channels must be 1 or 3, got {self.channels}")
        need(self.z_prior in PRIORS, f"z_prior must be one of {PRIORS}, got {self.z_prior!r}")
        need(
            self.mixed_precision in PRECISIONS,
            f"mixed_precision must be one of {PRECISIONS}, got {self.mixed_precision!r}",
        )
        for name in (
            "z_dim",
            "gf",
            "df",
            "batch_size",
            "d_steps",
            "r1_every",
            "sample_every",
            "checkpoint_every",
            "keep_checkpoints",
            "log_every",
        ):
            need(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("lr_g", "lr_d"):
            need(getattr(self, name) > 0, f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("beta1", "beta2"):
            need(0 <= getattr(self, name) < 1, f"{name} must be in [0, 1), got {getattr(self, name)}")
        need(0 <= self.label_smoothing < 0.5, f"label_smoothing must be in [0, 0.5), got {self.label_smoothing}")
        need(self.r1_gamma >= 0, f"r1_gamma must be >= 0, got {self.r1_gamma}")
        unknown = sorted(set(self.augment_policy) - set(AUGMENTATIONS))
        need(not unknown, f"augment: unknown {', '.join(unknown)}; choose from {', '.join(AUGMENTATIONS)}")
        need(0 <= self.g_ema < 1, f"g_ema must be in [0, 1), got {self.g_ema}")
        need(self.steps >= 0 and self.epochs >= 0, "steps and epochs must be >= 0")
        need(self.d_warmup >= 0, f"d_warmup must be >= 0, got {self.d_warmup}")
        need(self.eval_every >= 0, f"eval_every must be >= 0, got {self.eval_every}")
        need(self.eval_samples >= 2, f"eval_samples must be >= 2, got {self.eval_samples}")
        need(self.seed >= 0, f"seed must be >= 0, got {self.seed}")

    @property
    def augment_policy(self) -> tuple[str, ...]:
        """'color, translation' → ('color', 'translation'); '' → ()."""
        return tuple(name.strip() for name in self.augment.split(",") if name.strip())

    def r1_due(self, step: int) -> bool:
        """Whether step `step` (0-based) adds the R1 penalty: every r1_every-th step when R1 is on."""
        return self.r1_gamma > 0 and step % self.r1_every == 0

    @property
    def images_per_step(self) -> int:
        """Real images one training step draws from the data: batch_size for each of its d_steps D updates."""
        return self.batch_size * self.d_steps

    @property
    def z_range(self) -> tuple[float, float]:
        return Z_RANGES[self.z_prior]

    def z_contract(self) -> dict[str, Any]:
        """What z means for this model: read by training, sampling, the API and the page alike."""
        low, high = self.z_range
        return {"dim": self.z_dim, "prior": self.z_prior, "low": low, "high": high}

    def model_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in MODEL_FIELDS}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> Config:
        return from_dict({**self.to_dict(), **changes})

    def save(self, path: Path) -> None:
        write_json_atomic(path, self.to_dict())


def from_dict(data: dict[str, Any]) -> Config:
    """Build a Config from a dict; unknown keys are an error, not silently ignored."""
    known = {f.name for f in fields(Config)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown config field(s): {', '.join(unknown)}; known fields: {', '.join(sorted(known))}")
    return Config(**data)


def load(path: Path) -> Config:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"no config file at {path}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid JSON: {exc}") from None
    return from_dict(data)
