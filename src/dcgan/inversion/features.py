"""A perceptual distance from the bundle's discriminator: LPIPS's recipe (Zhang et al. 2018) without learned
weights, on a network that ships offline.

The activations after each of D's conv blocks are unit-normalised over channels at every position; the distance
is their squared difference averaged over positions and summed over blocks (LPIPS "lin" with all weights 1).
D learnt exactly the features that tell this generator's faces from real ones, so its early blocks respond to
edges, eyes and mouths at the scales G draws them.
"""

from __future__ import annotations

from pathlib import Path

import keras
import tensorflow as tf

from dcgan.config import Config
from dcgan.errors import ModelError
from dcgan.model import build_discriminator

BLOCKS = 3  # conv blocks used (of 4 at 64×64): the last one is already close to the real/fake decision


class DiscriminatorFeatures:
    """`distance(a, b)` → (N,) perceptual distances of images in [-1, 1]."""

    def __init__(self, model_dir: Path, config: Config) -> None:
        from dcgan.bundle import DISCRIMINATOR_FILE, assign_variables

        path = Path(model_dir) / DISCRIMINATOR_FILE
        if not path.exists():
            raise ModelError(
                f"{model_dir} has no {DISCRIMINATOR_FILE}, whose features inversion compares faces with; "
                "export the bundle with `dcgan export RUN_DIR --discriminator`"
            )
        discriminator = build_discriminator(config)
        assign_variables(path, discriminator.variables)
        blocks = [layer.output for layer in discriminator.layers if isinstance(layer, keras.layers.LeakyReLU)]
        self.model = keras.Model(discriminator.inputs, blocks[:BLOCKS])
        self.model.trainable = False

    def features(self, images: tf.Tensor) -> list[tf.Tensor]:
        return [tf.math.l2_normalize(f, axis=-1, epsilon=1e-10) for f in self.model(images, training=False)]

    def distance(self, a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        return self.distance_to(self.features(b), a)

    def distance_to(self, target: list[tf.Tensor], images: tf.Tensor) -> tf.Tensor:
        """Distance of `images` to precomputed `features(target)` (the target's features are fixed in a solve)."""
        ours = self.features(images)
        return tf.add_n(
            [tf.reduce_mean(tf.reduce_sum((x - y) ** 2, -1), axis=[1, 2]) for x, y in zip(ours, target, strict=True)]
        )
