"""``keras-inception``: Keras' ImageNet InceptionV3 (include_top=False, average pooling).

A different network from the FID one: its numbers are NOT comparable with published FIDs. Keras downloads its
weights at first use, so here it only works when the weights file is already on disk.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dcgan.errors import MetricsError
from dcgan.evaluation.extractors.base import FeatureExtractor
from dcgan.evaluation.extractors.inception_fid import FID_SIZE

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
