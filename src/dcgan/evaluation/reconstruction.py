"""How close a reconstruction is to its original, per image: PSNR and SSIM (Wang et al. 2004, the Gaussian
11×11 window of σ 1.5 with K1 = 0.01, K2 = 0.03, TensorFlow's `tf.image.ssim`, averaged over the channels), on
uint8 images."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from dcgan.errors import MetricsError


def _check(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape or a.ndim != 4:
        raise MetricsError(f"need two N×H×W×C batches of one shape, got {a.shape} and {b.shape}")


def psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) peak signal-to-noise ratios in dB, 10·log10(255² / MSE); identical images give inf."""
    _check(a, b)
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2, axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        return 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N,) structural similarities in [-1, 1] (1: identical)."""
    _check(a, b)
    return tf.image.ssim(tf.constant(a, tf.float32), tf.constant(b, tf.float32), max_val=255.0).numpy()
