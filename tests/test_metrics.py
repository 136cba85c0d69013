"""FID, KID and precision/recall against direct reference computations; stats caching; evaluate API and CLI."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
from conftest import blob_images, tiny_config
from scipy.spatial.distance import cdist

from dcgan.cli import evaluate as evaluate_cli
from dcgan.data import Cache
from dcgan.errors import MetricsError
from dcgan.evaluation import frechet, scoring
from dcgan.evaluation import reference as reference_module
from dcgan.evaluation.extractors import PixelFeatures
from dcgan.evaluation.frechet import feature_stats, fid_from_features, frechet_distance
from dcgan.evaluation.kid import kernel_inception_distance
from dcgan.evaluation.precision_recall import precision_recall
from dcgan.evaluation.reference import ReferenceStats, reference_stats
from dcgan.evaluation.scoring import evaluate_features, evaluate_generator, evaluate_images

# ---------------------------------------------------------------------------------------------------------------- FID


@pytest.mark.parametrize("method", ["sqrtm", "eigh"])
def test_fid_closed_form_diagonal_gaussians(method: str) -> None:
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    v1, v2 = rng.uniform(0.1, 3, 6), rng.uniform(0.1, 3, 6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(v1 + v2 - 2 * np.sqrt(v1 * v2))
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2), method=method) == pytest.approx(expected, rel=1e-10)


def test_fid_closed_form_one_dimension() -> None:
    # W2² between N(0, 1) and N(3, 4) is 3² + (1 − 2)² = 10
    assert frechet_distance([0.0], [[1.0]], [3.0], [[4.0]]) == pytest.approx(10.0, rel=1e-12)


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    """The textbook computation, written out directly with SciPy."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(root).real)


@pytest.mark.parametrize("method", ["sqrtm", "eigh"])
def test_fid_matches_scipy_sqrtm_on_random_data(method: str) -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 24)) @ rng.normal(size=(24, 24))
    b = rng.normal(size=(250, 24)) @ rng.normal(size=(24, 24)) + 0.5
    assert fid_from_features(a, b, method=method) == pytest.approx(scipy_fid(a, b), rel=1e-8)


def test_fid_identical_is_zero_and_symmetric() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(200, 10)), rng.normal(size=(150, 10)) * 2
    assert abs(fid_from_features(a, a)) < 1e-8
    assert fid_from_features(a, b) == pytest.approx(fid_from_features(b, a), rel=1e-8)


def test_fid_singular_covariances_both_methods_agree() -> None:
    # fewer samples than dimensions, as in validation with few samples: rank-deficient covariances
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(20, 40)), rng.normal(size=(25, 40)) + 0.1
    fid_sqrtm, fid_eigh = fid_from_features(a, b, "sqrtm"), fid_from_features(a, b, "eigh")
    assert np.isfinite(fid_sqrtm) and fid_sqrtm > 0
    assert fid_sqrtm == pytest.approx(fid_eigh, rel=1e-5)


def test_fid_eps_offset_fallback(monkeypatch) -> None:
    calls = []
    real_sqrtm = scipy.linalg.sqrtm

    def flaky_sqrtm(matrix):
        calls.append(matrix.copy())
        if len(calls) == 1:
            return np.full_like(matrix, np.nan)
        return real_sqrtm(matrix)

    monkeypatch.setattr(frechet.scipy.linalg, "sqrtm", flaky_sqrtm)
    s1, s2 = np.diag([1.0, 2.0]), np.diag([3.0, 4.0])
    value = frechet_distance(np.zeros(2), s1, np.zeros(2), s2, eps=1e-3)
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], (s1 + 1e-3 * np.eye(2)) @ (s2 + 1e-3 * np.eye(2)))
    expected = sum(a + b - 2 * np.sqrt((a + 1e-3) * (b + 1e-3)) for a, b in ((1, 3), (2, 4)))
    assert value == pytest.approx(expected, rel=1e-10)


def test_fid_drops_tiny_imaginary_parts_and_rejects_large(monkeypatch) -> None:
    s = np.eye(2)
    monkeypatch.setattr(frechet.scipy.linalg, "sqrtm", lambda m: np.eye(2) + 1e-9j)
    assert frechet_distance(np.zeros(2), s, np.zeros(2), s) == pytest.approx(0.0, abs=1e-8)
    monkeypatch.setattr(frechet.scipy.linalg, "sqrtm", lambda m: np.eye(2) + 0.5j)
    with pytest.raises(MetricsError, match="imaginary"):
        frechet_distance(np.zeros(2), s, np.zeros(2), s)


def test_fid_input_checks() -> None:
    with pytest.raises(MetricsError):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(2), np.eye(2))
    with pytest.raises(MetricsError):
        feature_stats(np.zeros((1, 4)))
    with pytest.raises(MetricsError):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2), method="nope")


# ---------------------------------------------------------------------------------------------------------------- KID


def brute_force_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD² with k(a, b) = (a·b/d + 1)³, as an explicit double loop over pairs."""
    m, d = len(x), x.shape[1]

    def k(a, b):
        return (sum(float(a[i]) * float(b[i]) for i in range(d)) / d + 1.0) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return xx / (m * (m - 1)) + yy / (m * (m - 1)) - 2 * xy / (m * m)


def test_kid_whole_sets_matches_brute_force() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(9, 5)), rng.normal(size=(9, 5)) + 0.3
    kid = kernel_inception_distance(x, y, subsets=3, subset_size=100)
    assert kid["subset_size"] == 9  # capped by the sample counts
    assert kid["mean"] == pytest.approx(brute_force_mmd2(x, y), rel=1e-10)  # each subset is the whole set
    assert kid["std"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("gram_limit", [0, 4096])
def test_kid_subsets_match_brute_force(gram_limit: int) -> None:
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(14, 4)), rng.normal(size=(11, 4)) * 1.5
    seed, subsets, m = 7, 4, 6
    draw = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):  # the documented subset protocol: real indices, then fake indices
        ix, iy = draw.choice(14, m, replace=False), draw.choice(11, m, replace=False)
        values.append(brute_force_mmd2(x[ix], y[iy]))
    kid = kernel_inception_distance(x, y, subsets=subsets, subset_size=m, seed=seed, gram_limit=gram_limit)
    assert kid["mean"] == pytest.approx(np.mean(values), rel=1e-10)
    assert kid["std"] == pytest.approx(np.std(values), rel=1e-8)


def test_kid_near_zero_for_same_distribution_positive_for_shift() -> None:
    rng = np.random.default_rng(6)
    a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    same = kernel_inception_distance(a, b, subsets=20, subset_size=200)
    shifted = kernel_inception_distance(a, b + 1.0, subsets=20, subset_size=200)
    assert abs(same["mean"]) < 3 * same["std"] + 1e-3
    assert shifted["mean"] > 10 * abs(same["mean"]) and shifted["mean"] > 0


# -------------------------------------------------------------------------------------------------- precision/recall


def test_precision_recall_identical_sets() -> None:
    x = np.random.default_rng(7).normal(size=(60, 6))
    pr = precision_recall(x, x.copy(), k=3)
    assert (pr["precision"], pr["recall"]) == (1.0, 1.0)


def test_precision_recall_disjoint_far_sets() -> None:
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(50, 6)), rng.normal(size=(40, 6)) + 100.0
    pr = precision_recall(x, y, k=3)
    assert (pr["precision"], pr["recall"]) == (0.0, 0.0)


def test_precision_half_of_fakes_on_the_real_manifold() -> None:
    rng = np.random.default_rng(9)
    real = rng.normal(size=(60, 5))
    fake = np.concatenate([real[:30], rng.normal(size=(30, 5)) + 100.0])
    assert precision_recall(real, fake, k=3)["precision"] == 0.5


def brute_force_precision_recall(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    def radii(x):
        return np.sort(cdist(x, x), axis=1)[:, k]  # column 0 is the point itself

    r_real, r_fake = radii(real), radii(fake)
    precision = np.mean([np.any(cdist(f[None], real)[0] <= r_real) for f in fake])
    recall = np.mean([np.any(cdist(r[None], fake)[0] <= r_fake) for r in real])
    return precision, recall


def test_precision_recall_matches_brute_force() -> None:
    rng = np.random.default_rng(10)
    real, fake = rng.normal(size=(70, 4)), rng.normal(size=(70, 4)) * 0.8 + 0.6
    pr = precision_recall(real, fake, k=3, block=16)  # several blocks
    expected = brute_force_precision_recall(real, fake, 3)
    assert (pr["precision"], pr["recall"]) == pytest.approx(expected)
    assert 0 < pr["precision"] < 1 and 0 < pr["recall"] < 1


def test_precision_recall_subsampling_and_checks() -> None:
    rng = np.random.default_rng(11)
    pr = precision_recall(rng.normal(size=(50, 3)), rng.normal(size=(40, 3)), max_samples=20)
    assert (pr["n_real"], pr["n_fake"]) == (20, 20)
    pr = precision_recall(rng.normal(size=(50, 3)), rng.normal(size=(40, 3)))  # equal sizes: the smaller set's
    assert (pr["n_real"], pr["n_fake"]) == (40, 40)
    with pytest.raises(MetricsError):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)


# ----------------------------------------------------------------------------------------------- reference statistics


@pytest.fixture
def cache_dir(tiny_cache: Path, tmp_path: Path) -> Path:
    """A split with no reference statistics yet: the session's cache without those other tests cached beside it."""
    out = tmp_path / "split"
    shutil.copytree(tiny_cache, out, ignore=shutil.ignore_patterns("fid_stats_*"))
    return out


def test_reference_stats_cached_atomically_and_reused(cache_dir: Path, monkeypatch) -> None:
    extractor = PixelFeatures()
    stats = reference_stats(cache_dir, extractor)
    path = cache_dir / "fid_stats_pixels.npz"
    assert stats.path == path and path.exists()
    assert [p.name for p in cache_dir.iterdir() if p.name.endswith(".tmp")] == []
    with np.load(path, allow_pickle=False) as data:
        assert str(data["extractor"]) == "pixels" and int(data["count"]) == 64
    images = Cache.open(cache_dir).images
    features = extractor(np.asarray(images))
    np.testing.assert_allclose(stats.mu, features.mean(0))
    np.testing.assert_allclose(stats.sigma, np.cov(features, rowvar=False))
    np.testing.assert_array_equal(stats.features, features)

    calls = []
    monkeypatch.setattr(reference_module, "extract", lambda *a, **k: calls.append(1) or features)
    again = reference_stats(Cache.open(cache_dir), extractor)
    assert calls == [] and again.fingerprint == stats.fingerprint
    np.testing.assert_array_equal(again.sigma, stats.sigma)

    # other images → other fingerprint → recomputed and replaced
    data = np.load(cache_dir / "images.npy")
    data[0] = 255 - data[0]
    np.save(cache_dir / "images.npy", data)
    reference_stats(cache_dir, extractor)
    assert calls == [1]


def test_reference_stats_subset_has_its_own_file(cache_dir: Path) -> None:
    stats = reference_stats(cache_dir, PixelFeatures(), max_images=20)
    assert stats.count == 20 and stats.path == cache_dir / "fid_stats_pixels_n20.npz"
    assert reference_stats(cache_dir, PixelFeatures(), max_images=1000).count == 64  # capped: the full file


def test_reference_stats_of_an_old_format_are_recomputed(cache_dir: Path, capsys) -> None:
    stats = reference_stats(cache_dir, PixelFeatures())
    with np.load(stats.path, allow_pickle=False) as data:
        fields = {**data, "format": np.int64(99)}
    with open(stats.path, "wb") as f:
        np.savez(f, **fields)
    with pytest.raises(MetricsError, match="stats format 99"):
        ReferenceStats.load(stats.path)
    again = reference_stats(cache_dir, PixelFeatures())
    assert "ignoring unreadable" in capsys.readouterr().err
    np.testing.assert_array_equal(again.sigma, stats.sigma)
    assert ReferenceStats.load(stats.path).count == 64  # replaced by the current format


def test_reference_stats_read_only_folder_still_works(cache_dir: Path, monkeypatch, capsys) -> None:
    def refuse(self, path):
        raise PermissionError("read-only")

    monkeypatch.setattr(ReferenceStats, "save", refuse)
    stats = reference_stats(cache_dir, PixelFeatures())
    assert stats.count == 64 and stats.path is None
    assert "could not cache" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------------------- evaluation


def test_evaluate_generator_records_extractor_and_ranks_samples(cache_dir: Path) -> None:
    extractor = PixelFeatures()
    reference = reference_stats(cache_dir, extractor)
    similar = blob_images(64, 32, seed=123)
    rng = np.random.default_rng(0)
    offset = 0

    def similar_fn(count):
        nonlocal offset
        offset += count
        return similar[offset - count : offset]

    good = evaluate_generator(similar_fn, 64, reference, extractor, batch_size=10, kid_subsets=10, kid_subset_size=32)
    noise = evaluate_generator(
        lambda c: rng.integers(0, 256, (c, 32, 32, 3), dtype=np.uint8),
        64,
        reference,
        extractor,
        batch_size=16,
        kid_subsets=10,
        kid_subset_size=32,
    )
    for result in (good, noise):
        assert result["extractor"] == "pixels" and result["comparable_with_published_fid"] is False
        assert result["n_generated"] == 64 and result["kid_subset_size"] == 32 and result["pr_k"] == 3
        json.dumps(result)  # JSON-ready
    assert good["fid"] < noise["fid"] and good["kid_mean"] < noise["kid_mean"]
    assert good["precision"] > noise["precision"]
    assert "KID" in scoring.format_table(good) and "NOT comparable" in scoring.format_table(good)


def test_evaluate_images_same_split_is_near_perfect(cache_dir: Path) -> None:
    extractor = PixelFeatures()
    reference = reference_stats(cache_dir, extractor)
    result = evaluate_images(Cache.open(cache_dir).images, reference, extractor, kid_subsets=5, fid_method="eigh")
    assert abs(result["fid"]) < 1e-4 and result["precision"] == 1.0 and result["recall"] == 1.0


def test_evaluate_rejects_bad_generator_output_and_mismatched_extractor(cache_dir: Path) -> None:
    extractor = PixelFeatures()
    reference = reference_stats(cache_dir, extractor)
    with pytest.raises(MetricsError, match="uint8"):
        evaluate_generator(lambda c: np.zeros((c, 32, 32, 3), np.float32), 8, reference, extractor)
    with pytest.raises(MetricsError, match="reference stats"):
        evaluate_generator(lambda c: np.zeros((c, 32, 32, 3), np.uint8), 8, reference, PixelFeatures(4))
    with pytest.raises(MetricsError):
        evaluate_features(np.zeros((8, 5)), reference)


# ---------------------------------------------------------------------------------------------------------------- CLI


def run_cli(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="dcgan")
    evaluate_cli.add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    assert args.func is evaluate_cli.cmd_evaluate
    args.func(args)


def make_bundle(path: Path) -> Path:
    """A minimal model bundle (model.json + generator.npz) around an untrained tiny generator."""
    from dcgan.atomic import write_json_atomic
    from dcgan.model import build_generator

    cfg = tiny_config()
    generator = build_generator(cfg)
    path.mkdir()
    np.savez(path / "generator.npz", **{v.path: np.asarray(v) for v in generator.variables})
    write_json_atomic(
        path / "model.json", {"format": 1, "config": cfg.model_dict(), "z": cfg.z_contract(), "provenance": {"step": 5}}
    )
    return path


def test_cli_evaluate_model_bundle_writes_json(cache_dir: Path, tmp_path: Path, capsys) -> None:
    bundle = make_bundle(tmp_path / "model")
    out = tmp_path / "eval" / "result.json"
    run_cli(
        [
            "evaluate",
            str(bundle),
            "--data",
            str(cache_dir),
            "--samples",
            "40",
            "--extractor",
            "pixels",
            "--json",
            str(out),
            "--kid-subsets",
            "5",
            "--batch-size",
            "16",
            "--no-progress",
        ]
    )
    text = capsys.readouterr().out
    assert "FID" in text and "precision" in text and "pixels" in text
    result = json.loads(out.read_text())
    assert result["extractor"] == "pixels" and result["n_generated"] == 40 and result["model_step"] == 5
    assert result["kid_subset_size"] == 40 and np.isfinite(result["fid"])
    assert (cache_dir / "fid_stats_pixels.npz").exists()


def test_cli_evaluate_cache_against_cache(cache_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.json"
    run_cli(
        [
            "evaluate",
            str(cache_dir),
            "--data",
            str(cache_dir),
            "--samples",
            "30",
            "--extractor",
            "pixels",
            "--json",
            str(out),
            "--no-pr",
            "--kid-subsets",
            "3",
            "--no-progress",
        ]
    )
    result = json.loads(out.read_text())
    assert result["n_generated"] == 30 and "precision" not in result and result["fid"] > 0
    assert (cache_dir / "fid_stats_pixels_n30.npz").exists()  # the compared split's features are cached too


def test_cli_keras_inception_without_weights_is_a_clear_error(cache_dir: Path, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("DCGAN_KERAS_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(
        "dcgan.evaluation.extractors.keras_inception.keras_weights_candidates",
        lambda: [tmp_path / "keras_home" / "models" / "missing.h5"],
    )
    with pytest.raises(MetricsError, match="downloads"):
        run_cli(["evaluate", str(cache_dir), "--data", str(cache_dir), "--extractor", "keras-inception"])


def test_cli_evaluate_truncation_table_sets_the_bundle_default(cache_dir: Path, tmp_path: Path, capsys) -> None:
    from dcgan import load_generator

    bundle = make_bundle(tmp_path / "model")
    assert load_generator(bundle).default_truncation == 1.0  # none chosen yet
    flags = ["--data", str(cache_dir), "--samples", "40", "--extractor", "pixels", "--kid-subsets", "5"]
    out = tmp_path / "table.json"
    run_cli(["evaluate", str(bundle), *flags, "--truncation", "1,0.5", "--set-default", "--json", str(out)])
    text = capsys.readouterr().out
    assert "| truncation ψ | FID |" in text and "| 0.5 |" in text
    results = json.loads(out.read_text())["results"]
    assert [r["truncation"] for r in results] == [1.0, 0.5]
    assert results[0]["fid"] != results[1]["fid"]  # truncated z give other faces
    chosen = json.loads((bundle / "model.json").read_text())["truncation"]
    best = min(results, key=lambda r: r["fid"])
    assert chosen["default"] == best["truncation"] and len(chosen["table"]) == 2
    model = load_generator(bundle)
    assert model.default_truncation == best["truncation"]
    np.testing.assert_allclose(model.sample_z(3, seed=1), model.sample_z(3, seed=1, truncation=best["truncation"]))
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["evaluate", str(bundle), *flags, "--truncation", "0"])
    assert exit_info.value.code == 2 and "truncation must be in (0, 1]" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------- reconstruction


def test_psnr_closed_form_and_identical_images() -> None:
    from dcgan.evaluation.reconstruction import psnr

    a = np.full((2, 8, 8, 3), 100, np.uint8)
    b = a.copy()
    b[0] += 5  # every pixel 5 grey levels off: MSE 25
    assert psnr(a, b)[0] == pytest.approx(10 * np.log10(255**2 / 25))
    assert np.isinf(psnr(a, b)[1])


def test_ssim_matches_a_direct_computation() -> None:
    """Wang et al. 2004 with an 11×11 Gaussian window (σ 1.5) over the valid region, averaged over channels."""
    import scipy.signal

    from dcgan.evaluation.reconstruction import ssim

    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (2, 24, 24, 3)).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-40, 40, a.shape), 0, 255).astype(np.uint8)
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def direct(x: np.ndarray, y: np.ndarray) -> float:
        values = []
        for c in range(3):
            xc, yc = x[..., c].astype(np.float64), y[..., c].astype(np.float64)

            def blur(image: np.ndarray) -> np.ndarray:
                return scipy.signal.convolve2d(image, window, mode="valid")

            mx, my = blur(xc), blur(yc)
            vx, vy, cov = blur(xc * xc) - mx**2, blur(yc * yc) - my**2, blur(xc * yc) - mx * my
            values.append(np.mean((2 * mx * my + c1) * (2 * cov + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))))
        return float(np.mean(values))

    got = ssim(a, b)
    assert got == pytest.approx([direct(a[i], b[i]) for i in range(2)], abs=1e-4)
    assert ssim(a, a) == pytest.approx([1.0, 1.0])


def test_reconstruction_metrics_refuse_mismatched_batches() -> None:
    from dcgan.evaluation.reconstruction import psnr

    with pytest.raises(MetricsError):
        psnr(np.zeros((1, 8, 8, 3)), np.zeros((1, 8, 9, 3)))
