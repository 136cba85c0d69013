"""The encoder's training options (no TensorFlow import, so the command line can show the defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from dcgan.errors import ConfigError


@dataclass(frozen=True)
class EncoderOptions:
    steps: int = 5000
    batch_size: int = 16
    learning_rate: float = 5e-4
    z_weight: float = 0.01
    feature_weight: float = 0.05
    width: int = 32
    checkpoint_every: int = 250
    seed: int = 0

    def validate(self) -> None:
        for name in ("steps", "batch_size", "width", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        for name in ("learning_rate", "z_weight", "feature_weight"):
            if getattr(self, name) < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(self, name)}")
