"""The encoder E: a face → a first guess of its z, always inside the prior's box."""

from __future__ import annotations

import keras
from keras import layers

from dcgan.config import Config
from dcgan.model import batch_norm, conv_init, num_resamplings


def build_encoder(cfg: Config, width: int = 64) -> keras.Model:
    """image in [-1, 1] → [conv 5×5/2 → BN → LeakyReLU 0.2]* → dense → tanh, scaled onto [low, high] of z.

    The discriminator's layout (Radford et al. 2015) with a z_dim-wide head: tanh keeps every guess in the box.
    """
    contract = cfg.z_contract()
    centre, half = (contract["high"] + contract["low"]) / 2, (contract["high"] - contract["low"]) / 2
    image = keras.Input(shape=(cfg.image_size, cfg.image_size, cfg.channels), name="image")
    x = image
    for i in range(num_resamplings(cfg.image_size)):
        x = layers.Conv2D(
            width * 2**i,
            5,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=conv_init(),
            name=f"conv{i + 1}",
        )(x)
        x = batch_norm(f"conv{i + 1}_bn")(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(cfg.z_dim, kernel_initializer=conv_init(), name="z")(x)
    z = layers.Lambda(lambda t: centre + half * keras.ops.tanh(t), name="box")(x)
    return keras.Model(image, z, name="encoder")
