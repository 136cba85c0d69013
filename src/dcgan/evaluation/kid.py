"""KID (Bińkowski et al. 2018): unbiased MMD² with the polynomial kernel k(x, y) = (x·y/d + 1)³, averaged over
random subsets as torch-fidelity and clean-fid do (mean and standard deviation over subsets).
"""

from __future__ import annotations

import functools

import numpy as np

from dcgan.errors import MetricsError


def polynomial_kernel(
    x: np.ndarray, y: np.ndarray, degree: int = 3, gamma: float | None = None, coef0: float = 1.0
) -> np.ndarray:
    """(γ x·y + c)^d, γ = 1/dim by default."""
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (gamma * (x @ y.T) + coef0) ** degree


def mmd2_unbiased(kxx: np.ndarray, kyy: np.ndarray, kxy: np.ndarray) -> float:
    """Unbiased MMD² from kernel matrices of two samples of size m (as torch-fidelity, clean-fid)."""
    m = len(kxx)
    same = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(same - 2 * kxy.sum() / (m * m))


def kernel_inception_distance(
    real: np.ndarray,
    fake: np.ndarray,
    subsets: int = 100,
    subset_size: int = 1000,
    seed: int = 0,
    degree: int = 3,
    gamma: float | None = None,
    coef0: float = 1.0,
    gram_limit: int = 4096,
) -> dict:
    """KID: mean and std (ddof 0) of unbiased MMD² over `subsets` random subsets of min(subset_size, N1, N2).

    Subset i draws its real indices, then its fake indices, without replacement from one
    np.random.default_rng(seed), in that order. With at most `gram_limit` samples per side the kernel matrices
    are computed once and indexed per subset (the same subsets, the same values, far fewer flops); above that
    each subset is computed on its own.
    """
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise MetricsError(f"KID needs N×D features of equal D, got {real.shape} and {fake.shape}")
    m = min(subset_size, len(real), len(fake))
    if m < 2:
        raise MetricsError(f"KID needs at least 2 samples per side, got {len(real)} and {len(fake)}")
    rng = np.random.default_rng(seed)
    draws = [(rng.choice(len(real), m, replace=False), rng.choice(len(fake), m, replace=False)) for _ in range(subsets)]
    kernel = functools.partial(polynomial_kernel, degree=degree, gamma=gamma, coef0=coef0)
    values = np.empty(subsets)
    if max(len(real), len(fake)) <= gram_limit:
        krr, kff, krf = kernel(real, real), kernel(fake, fake), kernel(real, fake)
        for i, (ir, jf) in enumerate(draws):
            values[i] = mmd2_unbiased(krr[np.ix_(ir, ir)], kff[np.ix_(jf, jf)], krf[np.ix_(ir, jf)])
    else:
        for i, (ir, jf) in enumerate(draws):
            x, y = real[ir], fake[jf]
            values[i] = mmd2_unbiased(kernel(x, x), kernel(y, y), kernel(x, y))
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "subsets": subsets,
        "subset_size": m,
        "kernel": {"degree": degree, "gamma": gamma if gamma is not None else "1/dim", "coef0": coef0},
    }
