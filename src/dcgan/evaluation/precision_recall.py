"""Improved precision and recall (Kynkäänniemi et al. 2019): the fraction of generated samples inside the real
manifold (union of k-NN balls around real features) and of real samples inside the generated one; k = 3.
"""

from __future__ import annotations

import numpy as np

from dcgan.errors import MetricsError


def _squared_distances(a: np.ndarray, b: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    d2 = (a * a).sum(axis=1)[:, None] + b_sq[None, :] - 2 * (a @ b.T)
    return np.maximum(d2, 0, out=d2)


def knn_radii(x: np.ndarray, k: int = 3, block: int = 1024) -> np.ndarray:
    """Squared distance from each row to its k-th nearest neighbour among the other rows."""
    if len(x) <= k:
        raise MetricsError(f"precision/recall with k={k} needs more than {k} samples per side, got {len(x)}")
    x_sq = (x * x).sum(axis=1)
    radii = np.empty(len(x))
    for start in range(0, len(x), block):
        d2 = _squared_distances(x[start : start + block], x, x_sq)
        radii[start : start + block] = np.partition(d2, k, axis=1)[:, k]  # index 0 is the point itself
    return radii


def manifold_coverage(query: np.ndarray, ref: np.ndarray, ref_radii: np.ndarray, block: int = 1024) -> np.ndarray:
    """For each query row: is it inside at least one k-NN ball of the reference set?"""
    ref_sq = (ref * ref).sum(axis=1)
    inside = np.empty(len(query), dtype=bool)
    for start in range(0, len(query), block):
        d2 = _squared_distances(query[start : start + block], ref, ref_sq)
        inside[start : start + block] = (d2 <= ref_radii[None, :]).any(axis=1)
    return inside


def precision_recall(
    real: np.ndarray, fake: np.ndarray, k: int = 3, max_samples: int | None = 10_000, seed: int = 0, block: int = 1024
) -> dict:
    """Improved precision (fake inside the real manifold) and recall (real inside the fake manifold).

    Both sets are subsampled to the same size (the smaller one, at most `max_samples`), as in the paper's
    protocol: the k-NN radii shrink as a set grows, so a larger fake set would bias recall down against
    precision (measured on two draws of one 64-D Gaussian, 1,000 real vs 5,000 fake: precision 0.645,
    recall 0.575; at 1,000 each: 0.626 and 0.603).
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise MetricsError(f"precision/recall needs N×D features of equal D, got {real.shape} and {fake.shape}")
    rng = np.random.default_rng([seed, 1])
    n = min(len(real), len(fake), max_samples or len(real))
    if len(real) > n:
        real = real[np.sort(rng.choice(len(real), n, replace=False))]
    if len(fake) > n:
        fake = fake[np.sort(rng.choice(len(fake), n, replace=False))]
    real_radii, fake_radii = knn_radii(real, k, block), knn_radii(fake, k, block)
    precision = manifold_coverage(fake, real, real_radii, block).mean()
    recall = manifold_coverage(real, fake, fake_radii, block).mean()
    return {"precision": float(precision), "recall": float(recall), "k": k, "n_real": len(real), "n_fake": len(fake)}
