"""Scoring: FID, KID and precision/recall of generated images against reference statistics.

`score_generator` is the one way to score a generator on a fixed z (`dcgan evaluate`, checkpoint validation
during training and `dcgan select`, tuning trials); `validation_row` is the row the two evals.jsonl writers log.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import numpy as np

from dcgan.errors import MetricsError
from dcgan.evaluation.extractors import EXTRACTORS, FeatureExtractor
from dcgan.evaluation.frechet import feature_stats, frechet_distance
from dcgan.evaluation.kid import kernel_inception_distance
from dcgan.evaluation.precision_recall import precision_recall
from dcgan.evaluation.reference import ReferenceStats


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


def evaluate_images(
    images: np.ndarray,
    reference: ReferenceStats,
    extractor: FeatureExtractor,
    batch_size: int = 50,
    progress: bool = False,
    **metric_options,
) -> dict:
    """Score a fixed uint8 image array (e.g. another real split, possibly memory-mapped) against a reference."""
    generate_fn = generate_from_z(np.asarray, images)  # the images themselves, batch by batch
    return evaluate_generator(generate_fn, len(images), reference, extractor, batch_size, progress, **metric_options)


def score_generator(
    generate: Callable[[np.ndarray], np.ndarray],
    z: np.ndarray,
    reference: ReferenceStats,
    extractor: FeatureExtractor,
    *,
    z_seed: int | None,
    batch_size: int = 50,
    progress: bool = False,
    **metric_options,
) -> dict:
    """Score a generator on a fixed z: `generate(z[i:j])` → uint8 images, fed consecutive slices of `z`.

    The one scorer of generated images. `z_seed` names the z (recorded, not used to draw it); `metric_options`
    go to `evaluate_features` (kid_subsets, kid_subset_size, pr_k, pr_max_samples, fid_method, seed). Returns
    `evaluate_generator`'s JSON-ready result plus "z_seed".
    """
    result = evaluate_generator(
        generate_from_z(generate, z), len(z), reference, extractor, batch_size, progress, **metric_options
    )
    result["z_seed"] = z_seed
    return result


def validation_row(
    generate: Callable[[np.ndarray], np.ndarray],
    z: np.ndarray,
    reference: ReferenceStats,
    extractor: FeatureExtractor,
    *,
    step: int,
    weights: str,
    z_seed: int,
    by: str,
    progress: bool = False,
) -> dict:
    """The fast checkpoint score (FID and KID, no P/R) as the one row format of a run's evals.jsonl.

    Written by training's `--eval-every` and by `dcgan select`; select reuses a logged row with the same step,
    weights, extractor, samples, z_seed and reference (the fingerprint of the reference images).
    """
    result = score_generator(
        generate,
        z,
        reference,
        extractor,
        z_seed=z_seed,
        progress=progress,
        pr_k=None,
        fid_method="eigh",
        kid_subset_size=min(1000, len(z)),
    )
    return {
        "step": step,
        "weights": weights,
        "fid": result["fid"],
        "kid": result["kid_mean"],
        "kid_std": result["kid_std"],
        "extractor": extractor.name,
        "samples": len(z),
        "z_seed": z_seed,
        "reference": reference.fingerprint,
        "reference_source": reference.source,
        "by": by,
    }


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
