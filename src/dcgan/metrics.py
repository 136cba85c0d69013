"""Sample-quality metrics: FID, KID and precision/recall, their cached reference statistics, and `dcgan evaluate`.

- FID (Heusel et al. 2017): Fréchet distance between Gaussians fitted to the features of real and generated
  images; the matrix square root as in pytorch-fid / clean-fid (scipy.linalg.sqrtm, eps offset when the result is
  not finite, tiny imaginary parts dropped), or the equivalent and faster symmetric eigen-decomposition.
- KID (Bińkowski et al. 2018): unbiased MMD² with the polynomial kernel k(x, y) = (x·y/d + 1)³, averaged over
  random subsets as torch-fidelity and clean-fid do (mean and standard deviation over subsets).
- Precision and recall (Kynkäänniemi et al. 2019): the fraction of generated samples inside the real manifold
  (union of k-NN balls around real features) and of real samples inside the generated one; k = 3.

Features come from a pluggable extractor (dcgan.features); every result says which one produced it, and only
`inception-fid` gives numbers comparable with published FIDs.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import os
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.linalg

from dcgan.features import EXTRACTORS, FeatureExtractor, MetricsError, extract, get_extractor

STATS_FORMAT = 1
FID_METHODS = ("sqrtm", "eigh")

# --------------------------------------------------------------------------------------------------------------
# FID


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


# --------------------------------------------------------------------------------------------------------------
# KID


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


# --------------------------------------------------------------------------------------------------------------
# precision / recall (Kynkäänniemi et al. 2019)


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


# --------------------------------------------------------------------------------------------------------------
# reference statistics of a prepared split, cached beside it


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
        """Write atomically (temp file beside it, then os.replace); features kept as float32 when exact."""
        path = Path(path)
        features = self.features
        if np.array_equal(features.astype(np.float32), features):
            features = features.astype(np.float32)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
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
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
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
        except (OSError, ValueError, KeyError) as exc:
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


# --------------------------------------------------------------------------------------------------------------
# evaluation


def evaluate_features(
    fake: np.ndarray,
    reference: ReferenceStats,
    extractor: FeatureExtractor | None = None,
    kid_subsets: int = 100,
    kid_subset_size: int = 1000,
    pr_k: int | None = 3,
    pr_max_samples: int | None = 10_000,
    fid_method: str = "sqrtm",
    seed: int = 0,
) -> dict:
    """FID, KID and (unless pr_k is None) precision/recall of generated features against a reference."""
    fake = np.asarray(fake, np.float64)
    if extractor is not None and extractor.name != reference.extractor:
        raise MetricsError(f"reference stats are for {reference.extractor!r}, features for {extractor.name!r}")
    if fake.ndim != 2 or fake.shape[1] != reference.mu.shape[0]:
        raise MetricsError(f"features of shape {fake.shape} do not match the reference dimension {reference.mu.shape}")
    start = time.perf_counter()
    mu, sigma = feature_stats(fake)
    sqrt_ref = reference.sqrt_sigma if fid_method == "eigh" else None
    result = {
        "extractor": reference.extractor,
        "comparable_with_published_fid": _comparable(reference.extractor),
        "n_generated": len(fake),
        "n_reference": reference.count,
        "fid": frechet_distance(reference.mu, reference.sigma, mu, sigma, method=fid_method, sqrt_sigma1=sqrt_ref),
        "fid_method": fid_method,
    }
    kid = kernel_inception_distance(reference.features, fake, kid_subsets, kid_subset_size, seed=seed)
    result.update(
        kid_mean=kid["mean"],
        kid_std=kid["std"],
        kid_subsets=kid["subsets"],
        kid_subset_size=kid["subset_size"],
        kid_kernel=kid["kernel"],
    )
    if pr_k:
        pr = precision_recall(reference.features, fake, pr_k, pr_max_samples, seed=seed)
        result.update(
            precision=pr["precision"],
            recall=pr["recall"],
            pr_k=pr_k,
            pr_n_reference=pr["n_real"],
            pr_n_generated=pr["n_fake"],
        )
    result["reference"] = {
        "source": reference.source,
        "stats": str(reference.path) if reference.path else None,
        "fingerprint": reference.fingerprint,
        "count": reference.count,
    }
    result["seconds"] = {"metrics": round(time.perf_counter() - start, 3)}
    return result


def _comparable(extractor_name: str) -> bool:
    factory = EXTRACTORS.get(extractor_name)
    return bool(getattr(factory, "comparable", False))


def generate_from_z(generate: Callable[[np.ndarray], np.ndarray], z: np.ndarray) -> Callable[[int], np.ndarray]:
    """A generate_fn(count) that feeds consecutive slices of a fixed z array to `generate` (e.g. FaceGenerator)."""
    offset = 0

    def generate_fn(count: int) -> np.ndarray:
        nonlocal offset
        if offset + count > len(z):
            raise MetricsError(f"asked for {offset + count} samples but only {len(z)} z vectors were given")
        images = generate(z[offset : offset + count])
        offset += count
        return images

    return generate_fn


def evaluate_generator(
    generate_fn: Callable[[int], np.ndarray],
    n: int,
    reference: ReferenceStats,
    extractor: FeatureExtractor,
    batch_size: int = 50,
    progress: bool = False,
    **metric_options,
) -> dict:
    """Generate n images in batches (`generate_fn(count)` → uint8 count×H×W×C), extract features, and score them.

    `metric_options` go to `evaluate_features` (kid_subsets, kid_subset_size, pr_k, pr_max_samples,
    fid_method, seed). Returns a JSON-ready dict; `extractor` and `comparable_with_published_fid` say what
    the numbers mean.
    """
    if n < 2:
        raise MetricsError(f"need at least 2 generated samples, got n={n}")
    if extractor.name != reference.extractor:
        raise MetricsError(f"reference stats are for {reference.extractor!r}, extractor is {extractor.name!r}")
    features = np.empty((n, extractor.dim), np.float64)
    seconds = {"generate": 0.0, "features": 0.0}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc="generate + features", unit="img", file=sys.stderr)
    try:
        for start in range(0, n, batch_size):
            count = min(batch_size, n - start)
            t0 = time.perf_counter()
            images = np.asarray(generate_fn(count))
            t1 = time.perf_counter()
            if images.dtype != np.uint8 or images.ndim not in (3, 4) or len(images) != count:
                raise MetricsError(
                    f"generate_fn({count}) must return {count} uint8 images (N×H×W×C), "
                    f"got {images.dtype} {images.shape}"
                )
            features[start : start + count] = extractor(images)
            seconds["generate"] += t1 - t0
            seconds["features"] += time.perf_counter() - t1
            if bar:
                bar.update(count)
    finally:
        if bar:
            bar.close()
    result = evaluate_features(features, reference, extractor, **metric_options)
    result["seconds"] = {
        **{k: round(v, 3) for k, v in seconds.items()},
        **result["seconds"],
        "features_per_second": round(n / max(seconds["features"], 1e-9), 2),
    }
    return result


def validation_score(
    generate: Callable[[np.ndarray], np.ndarray],
    z: np.ndarray,
    reference: ReferenceStats,
    extractor: FeatureExtractor,
    progress: bool = False,
) -> dict:
    """The fast checkpoint score used to pick checkpoints: FID and KID of `generate(z)` (no P/R), JSON-ready."""
    result = evaluate_generator(
        generate_from_z(generate, z),
        len(z),
        reference,
        extractor,
        progress=progress,
        pr_k=None,
        fid_method="eigh",
        kid_subset_size=min(1000, len(z)),
    )
    return {
        "fid": result["fid"],
        "kid": result["kid_mean"],
        "kid_std": result["kid_std"],
        "extractor": extractor.name,
        "samples": len(z),
    }


def evaluate_images(
    images: np.ndarray,
    reference: ReferenceStats,
    extractor: FeatureExtractor,
    batch_size: int = 50,
    progress: bool = False,
    **metric_options,
) -> dict:
    """Score a fixed uint8 image array (e.g. another real split, possibly memory-mapped) against a reference."""
    offset = 0

    def generate_fn(count: int) -> np.ndarray:
        nonlocal offset
        batch = np.asarray(images[offset : offset + count])
        offset += count
        return batch

    return evaluate_generator(generate_fn, len(images), reference, extractor, batch_size, progress, **metric_options)


def format_table(result: dict) -> str:
    """A readable summary of an evaluation result."""
    comparable = (
        "standard FID Inception network: comparable with published FIDs"
        if result["comparable_with_published_fid"]
        else "NOT comparable with published FIDs"
    )
    lines = [
        ("model", result.get("model", "")),
        ("reference", f"{result['reference']['source']} ({result['n_reference']} images)"),
        ("extractor", f"{result['extractor']} ({comparable})"),
        ("samples", f"{result['n_generated']} generated"),
        ("FID", f"{result['fid']:.3f}  ({result['fid_method']})"),
        (
            "KID",
            f"{result['kid_mean']:.5f} ± {result['kid_std']:.5f}  (×10³: {1e3 * result['kid_mean']:.2f} ± "
            f"{1e3 * result['kid_std']:.2f}; {result['kid_subsets']} subsets of {result['kid_subset_size']})",
        ),
    ]
    if "precision" in result:
        lines += [
            (
                "precision",
                f"{result['precision']:.4f}  (k={result['pr_k']}, {result['pr_n_generated']} "
                f"generated vs {result['pr_n_reference']} real)",
            ),
            ("recall", f"{result['recall']:.4f}"),
        ]
    seconds = result.get("seconds", {})
    if "features_per_second" in seconds:
        lines.append(
            (
                "time",
                f"generate {seconds['generate']:.1f} s, features {seconds['features']:.1f} s "
                f"({seconds['features_per_second']:.1f} img/s), metrics {seconds['metrics']:.1f} s",
            )
        )
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in lines if v != "")


# --------------------------------------------------------------------------------------------------------------
# `dcgan evaluate`


def cmd_evaluate(args: argparse.Namespace) -> None:
    from dcgan.data import Cache

    if args.n < 2:
        raise MetricsError(f"--n must be at least 2, got {args.n}")
    extractor = get_extractor(args.extractor)
    if args.threads:
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            pass
    cache = Cache.open(args.data)
    reference = reference_stats(
        cache,
        extractor,
        max_images=args.ref_max,
        batch_size=args.batch_size,
        refresh=args.refresh_stats,
        progress=not args.quiet,
    )
    options = dict(
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size,
        pr_k=None if args.no_pr else args.pr_k,
        pr_max_samples=args.pr_samples,
        fid_method=args.fid_method,
        seed=args.seed,
    )
    source = Path(args.model)
    if (source / "images.npy").exists():  # another prepared cache: real-vs-real, a sanity baseline
        other = Cache.open(source)
        _warn_shape(other.images.shape[1:], cache)
        count = min(args.n, len(other.images))
        # the other split's features are cached beside it too (and reused if already there)
        stats = reference_stats(other, extractor, max_images=count, batch_size=args.batch_size, progress=not args.quiet)
        result = evaluate_features(stats.features, reference, extractor, **options)
        result["model"] = f"{source} (image cache, first {count} images)"
    else:
        from dcgan.bundle import load_generator

        model = load_generator(source)
        _warn_shape(model.image_shape, cache)
        z = model.sample_z(args.n, args.seed)
        result = evaluate_generator(
            generate_from_z(model.generate, z), args.n, reference, extractor, args.batch_size, not args.quiet, **options
        )
        result["model"] = str(source)
        result["model_step"] = model.info.get("provenance", {}).get("step")
        result["z_seed"] = args.seed
    result["extractor_info"] = extractor.describe()
    print(format_table(result))
    if args.json:
        from dcgan.config import write_json_atomic

        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(args.json, result)
        print(f"wrote {args.json}")


def _warn_shape(shape: tuple, cache) -> None:
    if tuple(shape) != tuple(cache.images.shape[1:]):
        print(
            f"warning: evaluated images are {'×'.join(map(str, shape))} but {cache.path} holds "
            f"{'×'.join(map(str, cache.images.shape[1:]))}; is this the right reference split?",
            file=sys.stderr,
        )


def add_evaluate_command(subparsers) -> argparse.ArgumentParser:
    """Register `dcgan evaluate` on an argparse subparsers object (sets func=cmd_evaluate)."""
    p = subparsers.add_parser(
        "evaluate",
        help="FID, KID and precision/recall of a model against a prepared split",
        description="Score a model bundle (or another prepared cache) against a prepared split. Reference "
        "statistics are cached beside the split as fid_stats_<extractor>.npz.",
    )
    p.add_argument(
        "model",
        type=Path,
        metavar="MODEL_DIR",
        help="model bundle (from `dcgan export`), or a prepared cache folder for a real-vs-real baseline",
    )
    p.add_argument("--data", type=Path, required=True, metavar="SPLIT_CACHE", help="reference split, e.g. data/x/val")
    p.add_argument("--n", type=int, default=10_000, help="generated samples (default 10000)")
    p.add_argument(
        "--extractor",
        choices=tuple(EXTRACTORS),
        default="inception-fid",
        help="inception-fid: the standard FID network (needs dcgan[eval]); keras-inception: Keras' "
        "ImageNet InceptionV3, NOT comparable with published FIDs; pixels: test/debug only",
    )
    p.add_argument("--json", type=Path, metavar="OUT", help="also write the result as JSON")
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--seed", type=int, default=0, help="z seed and metric subset seed")
    p.add_argument("--kid-subsets", type=int, default=100)
    p.add_argument("--kid-subset-size", type=int, default=1000, help="capped by both sample counts")
    p.add_argument("--pr-k", type=int, default=3, help="k of the k-NN balls for precision/recall")
    p.add_argument("--pr-samples", type=int, default=10_000, help="at most this many samples per side for P/R")
    p.add_argument("--no-pr", action="store_true", help="skip precision/recall")
    p.add_argument(
        "--fid-method",
        choices=FID_METHODS,
        default="sqrtm",
        help="sqrtm: scipy.linalg.sqrtm as pytorch-fid; eigh: same value, faster",
    )
    p.add_argument("--ref-max", type=int, default=None, help="use only the first N images of the split")
    p.add_argument("--refresh-stats", action="store_true", help="recompute the cached reference statistics")
    p.add_argument("--threads", type=int, default=None, help="PyTorch threads for inception-fid")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_evaluate)
    return p
