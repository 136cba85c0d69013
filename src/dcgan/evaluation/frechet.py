"""FID (Heusel et al. 2017): the Fréchet distance between Gaussians fitted to the features of real and generated
images. The matrix square root as in pytorch-fid / clean-fid (scipy.linalg.sqrtm, eps offset when the result is not
finite, tiny imaginary parts dropped), or the equivalent and faster symmetric eigen-decomposition.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg

from dcgan.errors import MetricsError

FID_METHODS = ("sqrtm", "eigh")


def feature_stats(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased, N-1) covariance of N×D features, in float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise MetricsError(f"need at least 2 feature vectors (N×D) for a covariance, got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric square root of a positive semi-definite matrix (negative round-off eigenvalues clipped to 0)."""
    values, vectors = np.linalg.eigh(np.asarray(sigma, dtype=np.float64))
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def trace_sqrt_product(
    sigma1: np.ndarray,
    sigma2: np.ndarray,
    eps: float = 1e-6,
    method: str = "sqrtm",
    sqrt_sigma1: np.ndarray | None = None,
) -> float:
    """tr √(Σ1 Σ2).

    "sqrtm": scipy.linalg.sqrtm of the product, retried with Σ + eps·I when the result is not finite, imaginary
    parts (round-off) dropped, raising if they are large: the pytorch-fid / clean-fid computation.
    "eigh": Σ1 Σ2 is similar to the symmetric PSD matrix √Σ1 Σ2 √Σ1, so the trace is Σ √λ of its eigenvalues;
    same value, several times faster (and `sqrt_sigma1` can be cached for a fixed reference).
    """
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    if method == "eigh":
        root = psd_sqrt(sigma1) if sqrt_sigma1 is None else sqrt_sigma1
        inner = root @ sigma2 @ root
        values = np.linalg.eigvalsh((inner + inner.T) / 2)
        return float(np.sqrt(np.clip(values, 0, None)).sum())
    if method != "sqrtm":
        raise MetricsError(f"unknown FID method {method!r}; choose from {', '.join(FID_METHODS)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # singular products warn; the finiteness check below decides
        covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
        if not np.isfinite(covmean).all():
            offset = np.eye(len(sigma1)) * eps
            covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if not np.isfinite(covmean).all():
        raise MetricsError("the matrix square root in FID is not finite even with an eps offset")
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise MetricsError(f"FID: large imaginary component {np.max(np.abs(covmean.imag)):.3g} in sqrtm(Σ1Σ2)")
        covmean = covmean.real
    return float(np.trace(covmean))


def frechet_distance(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    eps: float = 1e-6,
    method: str = "sqrtm",
    sqrt_sigma1: np.ndarray | None = None,
) -> float:
    """‖μ1 − μ2‖² + tr(Σ1 + Σ2 − 2√(Σ1Σ2)), in float64."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (len(mu1), len(mu1)):
        raise MetricsError(f"FID inputs disagree: μ {mu1.shape} vs {mu2.shape}, Σ {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    tr_covmean = trace_sqrt_product(sigma1, sigma2, eps, method, sqrt_sigma1)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_covmean)


def fid_from_features(real: np.ndarray, fake: np.ndarray, method: str = "sqrtm") -> float:
    return frechet_distance(*feature_stats(real), *feature_stats(fake), method=method)
