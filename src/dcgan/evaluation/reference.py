"""Reference statistics of a prepared split (features, mean, covariance), cached beside it and fingerprinted."""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dcgan.atomic import atomic_path
from dcgan.errors import MetricsError
from dcgan.evaluation.extractors import FeatureExtractor, extract
from dcgan.evaluation.frechet import feature_stats, psd_sqrt

STATS_FORMAT = 1


@dataclass
class ReferenceStats:
    """Features of real images with their mean and covariance, for one extractor and one cache."""

    extractor: str
    fingerprint: str
    count: int
    mu: np.ndarray
    sigma: np.ndarray
    features: np.ndarray
    path: Path | None = None  # the stats file, when cached
    source: str = ""  # the image cache the stats came from
    _sqrt_sigma: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_features(
        cls,
        features: np.ndarray,
        extractor: str,
        fingerprint: str = "",
        source: str = "",
    ) -> ReferenceStats:
        mu, sigma = feature_stats(features)
        return cls(extractor, fingerprint, len(features), mu, sigma, np.asarray(features), source=source)

    @property
    def sqrt_sigma(self) -> np.ndarray:
        """√Σ, computed once (for the fast "eigh" FID against this reference)."""
        if self._sqrt_sigma is None:
            self._sqrt_sigma = psd_sqrt(self.sigma)
        return self._sqrt_sigma

    def save(self, path: Path) -> Path:
        """Write atomically (dcgan.atomic); features kept as float32 when exact."""
        path = Path(path)
        features = self.features
        if np.array_equal(features.astype(np.float32), features):
            features = features.astype(np.float32)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(
                f,
                format=np.int64(STATS_FORMAT),
                extractor=np.str_(self.extractor),
                fingerprint=np.str_(self.fingerprint),
                count=np.int64(self.count),
                mu=self.mu,
                sigma=self.sigma,
                features=features,
                source=np.str_(self.source),
            )
        self.path = path
        return path

    @classmethod
    def load(cls, path: Path) -> ReferenceStats:
        with np.load(path, allow_pickle=False) as data:
            if int(data["format"]) != STATS_FORMAT:
                raise MetricsError(f"{path} has stats format {int(data['format'])}, expected {STATS_FORMAT}")
            return cls(
                str(data["extractor"]),
                str(data["fingerprint"]),
                int(data["count"]),
                data["mu"].astype(np.float64),
                data["sigma"].astype(np.float64),
                data["features"].astype(np.float64),
                Path(path),
                str(data["source"]),
            )


def images_fingerprint(images: np.ndarray, chunk: int = 2048) -> str:
    """SHA-256 of an image array's shape, dtype and bytes (read in chunks, so a memmap stays cheap)."""
    digest = hashlib.sha256(f"{images.shape}|{images.dtype}".encode())
    for start in range(0, len(images), chunk):
        digest.update(np.ascontiguousarray(images[start : start + chunk]).data)
    return digest.hexdigest()


def stats_path(cache_dir: Path, extractor_name: str, max_images: int | None = None) -> Path:
    suffix = f"_n{max_images}" if max_images else ""
    return Path(cache_dir) / f"fid_stats_{extractor_name}{suffix}.npz"


def reference_stats(
    cache,
    extractor: FeatureExtractor,
    max_images: int | None = None,
    batch_size: int | None = None,
    refresh: bool = False,
    progress: bool = False,
    write: bool = True,
) -> ReferenceStats:
    """Reference statistics of a prepared cache (a `dcgan.data.Cache` or its folder), cached beside it.

    Uses all images, or the first `max_images` (caches are in hash order, so that is an unbiased subset).
    The stats file SPLIT/fid_stats_<extractor>[_n<max>].npz is reused when its extractor, fingerprint of the
    images and count match; otherwise it is recomputed and replaced atomically. A read-only cache folder only
    means the stats are not saved.
    """
    from dcgan.data import Cache

    if not isinstance(cache, Cache):
        cache = Cache.open(Path(cache))
    images = cache.images
    if max_images is not None and max_images < len(images):
        images = images[:max_images]
    else:
        max_images = None
    fingerprint = images_fingerprint(images)
    path = stats_path(cache.path, extractor.name, max_images)
    if path.exists() and not refresh:
        try:
            stats = ReferenceStats.load(path)
        except (OSError, ValueError, KeyError, MetricsError) as exc:  # a stale format is recomputed too
            print(f"warning: ignoring unreadable {path} ({exc}); recomputing", file=sys.stderr)
        else:
            if (stats.extractor, stats.fingerprint, stats.count) == (extractor.name, fingerprint, len(images)):
                return stats
    features = _extract_with_progress(extractor, images, batch_size, progress, f"features of {cache.path}")
    stats = ReferenceStats.from_features(features, extractor.name, fingerprint, str(cache.path))
    if write:
        try:
            stats.save(path)
        except OSError as exc:
            print(f"warning: could not cache reference stats at {path} ({exc})", file=sys.stderr)
    return stats


def _extract_with_progress(
    extractor: FeatureExtractor, images: np.ndarray, batch_size: int | None, progress: bool, desc: str
) -> np.ndarray:
    if not progress:
        return extract(extractor, images, batch_size)
    from tqdm import tqdm

    with tqdm(total=len(images), desc=desc, unit="img", file=sys.stderr) as bar:
        return extract(extractor, images, batch_size, progress=bar.update)
