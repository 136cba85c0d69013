"""The feature extractor interface: uint8 images → float64 N×D features, batch by batch."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from dcgan.errors import MetricsError


def as_rgb_uint8(images: np.ndarray) -> np.ndarray:
    """Check uint8 N×H×W×C (C 1 or 3; N×H×W is taken as grayscale) and return N×H×W×3."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise MetricsError(f"feature extractors take uint8 images in [0, 255], got {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise MetricsError(f"feature extractors take N×H×W×C images with C 1 or 3, got shape {images.shape}")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images


class FeatureExtractor(ABC):
    """Maps uint8 N×H×W×C images (C 1 or 3; grayscale is expanded to 3 channels) to float64 N×dim features."""

    name: str
    dim: int
    comparable: bool = False  # True only for the standard FID network: numbers comparable with the literature
    batch_size: int = 50

    @abstractmethod
    def _features(self, images: np.ndarray) -> np.ndarray:
        """uint8 N×H×W×3 → N×dim features (any float dtype)."""

    def __call__(self, images: np.ndarray) -> np.ndarray:
        images = as_rgb_uint8(images)
        if len(images) == 0:
            return np.zeros((0, self.dim), np.float64)
        chunks = [self._features(images[i : i + self.batch_size]) for i in range(0, len(images), self.batch_size)]
        features = np.concatenate([np.asarray(c, dtype=np.float64) for c in chunks])
        if features.shape != (len(images), self.dim):
            raise MetricsError(
                f"{self.name} returned features of shape {features.shape}, expected {(len(images), self.dim)}"
            )
        return features

    def describe(self) -> dict:
        return {"name": self.name, "dim": self.dim, "comparable_with_published_fid": self.comparable}


def extract(
    extractor: FeatureExtractor,
    images: np.ndarray,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Features of a (possibly memory-mapped) image array, batch by batch; `progress(k)` after each batch."""
    batch_size = batch_size or extractor.batch_size
    out = np.empty((len(images), extractor.dim), np.float64)
    for start in range(0, len(images), batch_size):
        batch = np.ascontiguousarray(images[start : start + batch_size])
        out[start : start + len(batch)] = extractor(batch)
        if progress:
            progress(len(batch))
    return out
