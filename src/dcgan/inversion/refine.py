"""The optimization half of inversion: z from the encoder's guess, moved by Adam so that G(z) matches the photo.

Loss per face: mean((G(z) − x)²) + FEATURE_WEIGHT · d_D(G(z), x), with d_D the discriminator's perceptual distance
(`features.py`). Each Adam step is projected back into the prior's box [low, high], so z never leaves it. Steps run
in chunks of `CHUNK` inside one compiled graph; between chunks the caller hears about progress.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from dcgan.inversion.features import DiscriminatorFeatures

STEPS = 100  # chosen by measurement on 2 cores (docs/photos.md): 120 adds 0.08 dB for 0.24 s more a photo
CHUNK = 10
LEARNING_RATE = 0.1
FEATURE_WEIGHT = 0.02
BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-8


class Solver:
    """Projected Adam on z for a generator (images in [-1, 1]) and a perceptual distance."""

    def __init__(
        self,
        generator,
        features: DiscriminatorFeatures,
        low: float,
        high: float,
        learning_rate: float = LEARNING_RATE,
        feature_weight: float = FEATURE_WEIGHT,
    ) -> None:
        self.generator, self.features = generator, features
        self.low, self.high = low, high
        self.learning_rate, self.feature_weight = learning_rate, feature_weight
        self._chunk = tf.function(self._chunk_graph, reduce_retracing=True)

    def loss(self, z: tf.Tensor, target: tf.Tensor, target_features: list[tf.Tensor]) -> tf.Tensor:
        """(N,) losses of z against target images in [-1, 1]."""
        images = tf.cast(self.generator(z, training=False), tf.float32)
        pixel = tf.reduce_mean((images - target) ** 2, axis=[1, 2, 3])
        return pixel + self.feature_weight * self.features.distance_to(target_features, images)

    def _chunk_graph(self, z, m, v, t, target, steps, total):
        target_features = self.features.features(target)
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(z)
                total = tf.reduce_sum(self.loss(z, target, target_features))
            grad = tape.gradient(total, z)
            t = t + 1.0
            m = BETA1 * m + (1 - BETA1) * grad
            v = BETA2 * v + (1 - BETA2) * grad**2
            rate = self.learning_rate
            step = rate * (m / (1 - BETA1**t)) / (tf.sqrt(v / (1 - BETA2**t)) + EPSILON)
            z = tf.clip_by_value(z - step, self.low, self.high)
        return z, m, v, t

    def solve(
        self, z0: np.ndarray, target: np.ndarray, steps: int = STEPS, progress: Callable[[int, int], None] | None = None
    ) -> np.ndarray:
        """z after `steps` projected Adam steps from `z0` toward `target` (float images in [-1, 1])."""
        z = tf.clip_by_value(tf.constant(z0, tf.float32), self.low, self.high)
        m, v, t = tf.zeros_like(z), tf.zeros_like(z), tf.constant(0.0)
        target = tf.constant(target, tf.float32)
        done = 0
        while done < steps:
            n = min(CHUNK, steps - done)
            z, m, v, t = self._chunk(z, m, v, t, target, tf.constant(n), tf.constant(float(steps)))
            done += n
            if progress:
                progress(done, steps)
        return z.numpy()
