"""``pixels``: a tiny deterministic test/debug extractor (box-downsampled pixels). Not a perceptual metric."""

from __future__ import annotations

import numpy as np

from dcgan.errors import MetricsError
from dcgan.evaluation.extractors.base import FeatureExtractor


def _box_matrix(size_in: int, size_out: int) -> np.ndarray:
    """size_out×size_in weights of an exact box (area) filter: each output averages the input span it covers."""
    edges = np.arange(size_out + 1) * (size_in / size_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    pixels = np.arange(size_in)[None, :]
    overlap = np.clip(np.minimum(hi, pixels + 1) - np.maximum(lo, pixels), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


class PixelFeatures(FeatureExtractor):
    """TEST/DEBUG ONLY: images box-downsampled to size×size×3 and scaled to [0, 1]; dim = 3·size². Fast, no deps."""

    comparable = False
    batch_size = 1024

    def __init__(self, size: int = 8) -> None:
        if size < 1:
            raise MetricsError(f"pixels size must be >= 1, got {size}")
        self.size = size
        self.name = "pixels" if size == 8 else f"pixels{size}"
        self.dim = 3 * size * size

    def _features(self, images: np.ndarray) -> np.ndarray:
        _, h, w, _ = images.shape
        rows, cols = _box_matrix(h, self.size), _box_matrix(w, self.size)
        small = np.einsum("ih,nhwc,jw->nijc", rows, images.astype(np.float64) / 255.0, cols, optimize=True)
        return small.reshape(len(images), -1)
