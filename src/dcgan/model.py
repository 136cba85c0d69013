"""The paper's generator and discriminator, and the DCGAN model with its train_step."""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers

from dcgan.config import Config

BN_MOMENTUM = 0.9  # PyTorch / TF1 DCGAN convention (moving average keeps 90%)
BN_EPSILON = 1e-5


def conv_init() -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def batch_norm(name: str) -> layers.BatchNormalization:
    return layers.BatchNormalization(
        momentum=BN_MOMENTUM,
        epsilon=BN_EPSILON,
        gamma_initializer=keras.initializers.RandomNormal(mean=1.0, stddev=0.02),
        name=name,
    )


def num_resamplings(image_size: int) -> int:
    """Number of stride-2 layers between the 4×4 base and the image."""
    return int(math.log2(image_size // 4))


def build_generator(cfg: Config) -> keras.Model:
    """z → dense 4×4×C0 → BN → ReLU → [deconv 5×5/2 → BN → ReLU]* → deconv 5×5/2 → tanh."""
    n = num_resamplings(cfg.image_size)
    widths = [cfg.gf * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 512, 256, 128, 64 for 64×64
    z = keras.Input(shape=(cfg.z_dim,), name="z")
    x = layers.Dense(4 * 4 * widths[0], use_bias=False, kernel_initializer=conv_init(), name="project")(z)
    x = layers.Reshape((4, 4, widths[0]))(x)
    x = batch_norm("project_bn")(x)
    x = layers.ReLU()(x)
    for i, width in enumerate(widths[1:], start=1):
        x = layers.Conv2DTranspose(
            width, 5, strides=2, padding="same", use_bias=False, kernel_initializer=conv_init(), name=f"deconv{i}"
        )(x)
        x = batch_norm(f"deconv{i}_bn")(x)
        x = layers.ReLU()(x)
    x = layers.Conv2DTranspose(
        cfg.channels, 5, strides=2, padding="same", kernel_initializer=conv_init(), name=f"deconv{n}"
    )(x)
    image = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(z, image, name="generator")


def build_discriminator(cfg: Config) -> keras.Model:
    """image → [conv 5×5/2 → (BN) → LeakyReLU 0.2]* → dense logit; no BN on the first conv."""
    n = num_resamplings(cfg.image_size)
    image = keras.Input(shape=(cfg.image_size, cfg.image_size, cfg.channels), name="image")
    x = image
    for i in range(n):
        x = layers.Conv2D(
            cfg.df * 2**i,
            5,
            strides=2,
            padding="same",
            use_bias=i == 0,
            kernel_initializer=conv_init(),
            name=f"conv{i + 1}",
        )(x)
        if i > 0:
            x = batch_norm(f"conv{i + 1}_bn")(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Flatten()(x)
    logit = layers.Dense(1, kernel_initializer=conv_init(), dtype="float32", name="logit")(x)
    return keras.Model(image, logit, name="discriminator")


def sample_z(cfg: Config, batch: int | tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """z from the config's prior, a pure function of the stateless seed (exact resume)."""
    shape = tf.stack([batch, cfg.z_dim])
    if cfg.z_prior == "uniform":
        return tf.random.stateless_uniform(shape, seed, minval=-1.0, maxval=1.0)
    return tf.random.stateless_normal(shape, seed)


class DCGAN(keras.Model):
    """Generator + discriminator trained with the non-saturating GAN loss."""

    def __init__(self, cfg: Config, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cfg = cfg
        self.generator = build_generator(cfg)
        self.discriminator = build_discriminator(cfg)
        self.g_optimizer = keras.optimizers.Adam(cfg.lr_g, beta_1=cfg.beta1, beta_2=cfg.beta2)
        self.d_optimizer = keras.optimizers.Adam(cfg.lr_d, beta_1=cfg.beta1, beta_2=cfg.beta2)
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, z: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.generator(z, training=training)

    def _d_step(self, real: tf.Tensor, seed: tf.Tensor) -> dict[str, tf.Tensor]:
        batch = tf.shape(real)[0]
        z = sample_z(self.cfg, batch, seed)
        real_label = 1.0 - self.cfg.label_smoothing  # one-sided label smoothing
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            real_logits = self.discriminator(real, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = self.bce(tf.fill(tf.shape(real_logits), real_label), real_logits) + self.bce(
                tf.zeros_like(fake_logits), fake_logits
            )
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables, strict=True))
        return {
            "d_loss": d_loss,
            "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
            "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits)),
        }

    def _g_step(self, batch: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        z = sample_z(self.cfg, batch, seed)
        with tf.GradientTape() as tape:
            fake_logits = self.discriminator(self.generator(z, training=True), training=True)
            g_loss = self.bce(tf.ones_like(fake_logits), fake_logits)  # non-saturating: max log D(G(z))
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables, strict=True))
        return g_loss

    @tf.function(reduce_retracing=True)
    def train_step(self, data: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        """One optimisation step: `d_steps` discriminator updates, then one generator update.

        `data` is (uint8 images N×H×W×C, int64 global step); z is drawn from (seed, step) so a
        resumed run sees exactly the z an uninterrupted run would.
        """
        images, step = data
        real = tf.cast(images, tf.float32) / 127.5 - 1.0
        d_steps = self.cfg.d_steps
        chunks = tf.split(real, d_steps) if d_steps > 1 else [real]
        for i, chunk in enumerate(chunks):
            logs = self._d_step(chunk, tf.stack([tf.cast(self.cfg.seed, tf.int64), step * 8 + i]))
        g_loss = self._g_step(tf.shape(chunks[-1])[0], tf.stack([tf.cast(self.cfg.seed, tf.int64), step * 8 + 7]))
        return {**logs, "g_loss": g_loss}

    def state_variables(self) -> dict[str, list]:
        """Every variable a checkpoint must hold, grouped and in a stable order."""
        return {
            "generator": self.generator.variables,
            "discriminator": self.discriminator.variables,
            "g_optimizer": self.g_optimizer.variables,
            "d_optimizer": self.d_optimizer.variables,
        }
