"""The paper's generator and discriminator, and the DCGAN model with its train_step."""

from __future__ import annotations

import math
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from dcgan.augment import diff_augment
from dcgan.config import Config
from dcgan.z import sample_z_stateless

BN_MOMENTUM = 0.9  # PyTorch / TF1 DCGAN convention (moving average keeps 90%)
BN_EPSILON = 1e-5


def conv_init() -> keras.initializers.Initializer:
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def batch_norm(name: str, synchronized: bool = False) -> layers.BatchNormalization:
    """The paper's BN; `synchronized` computes the batch statistics over the global batch of all replicas."""
    return layers.BatchNormalization(
        momentum=BN_MOMENTUM,
        epsilon=BN_EPSILON,
        gamma_initializer=keras.initializers.RandomNormal(mean=1.0, stddev=0.02),
        synchronized=synchronized,
        name=name,
    )


def num_resamplings(image_size: int) -> int:
    """Number of stride-2 layers between the 4×4 base and the image."""
    return int(math.log2(image_size // 4))


def build_generator(cfg: Config, synchronized_bn: bool = False) -> keras.Model:
    """z → dense 4×4×C0 → BN → ReLU → [deconv 5×5/2 → BN → ReLU]* → deconv 5×5/2 → tanh."""
    n = num_resamplings(cfg.image_size)
    widths = [cfg.gf * 2 ** (n - 1 - i) for i in range(n)]  # e.g. 512, 256, 128, 64 for 64×64
    z = keras.Input(shape=(cfg.z_dim,), name="z")
    x = layers.Dense(4 * 4 * widths[0], use_bias=False, kernel_initializer=conv_init(), name="project")(z)
    x = layers.Reshape((4, 4, widths[0]))(x)
    x = batch_norm("project_bn", synchronized_bn)(x)
    x = layers.ReLU()(x)
    for i, width in enumerate(widths[1:], start=1):
        x = layers.Conv2DTranspose(
            width, 5, strides=2, padding="same", use_bias=False, kernel_initializer=conv_init(), name=f"deconv{i}"
        )(x)
        x = batch_norm(f"deconv{i}_bn", synchronized_bn)(x)
        x = layers.ReLU()(x)
    x = layers.Conv2DTranspose(
        cfg.channels, 5, strides=2, padding="same", kernel_initializer=conv_init(), name=f"deconv{n}"
    )(x)
    image = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(z, image, name="generator")


def build_discriminator(cfg: Config, synchronized_bn: bool = False) -> keras.Model:
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
            x = batch_norm(f"conv{i + 1}_bn", synchronized_bn)(x)
        x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Flatten()(x)
    logit = layers.Dense(1, kernel_initializer=conv_init(), dtype="float32", name="logit")(x)
    return keras.Model(image, logit, name="discriminator")


# The seed slots of one training step: every random draw of step s is made from `step_seed(seed, s, slot)`.
G_SLOT = 0  # the generator update's z and augmentation


def d_slot(update: int) -> int:
    """The slot of the step's D update number `update` (0 … d_steps − 1): its z and the augmentation of its inputs."""
    return 1 + update


def step_seed(seed: int, step: tf.Tensor, slot: int) -> tf.Tensor:
    """The stateless seed of (run seed, step, slot): distinct for every slot of every step, whatever d_steps."""
    base = tf.stack([tf.cast(seed, tf.int64), tf.cast(step, tf.int64)])
    return tf.random.experimental.stateless_fold_in(base, slot)


def standing_statistics(generator: keras.Model, cfg: Config, batches: int, seed: int = 0) -> None:
    """Set G's BN moving statistics to its batch statistics averaged over `batches` training-mode batches.

    BigGAN's "standing statistics" (Brock et al. 2019): a generator samples with the statistics of its own
    weights instead of a running average taken while they changed (for the EMA generator, an average of G's
    statistics, measured for other weights). Each batch is `cfg.batch_size` z from the config's prior, as in
    training; variances are the biased batch variances training normalised with.
    """
    norms = [layer for layer in generator.layers if isinstance(layer, layers.BatchNormalization)]
    probe = keras.Model(generator.inputs, [layer.input for layer in norms])
    means = [np.zeros(layer.moving_mean.shape, np.float64) for layer in norms]
    variances = [np.zeros(layer.moving_variance.shape, np.float64) for layer in norms]
    for i in range(batches):
        z = sample_z_stateless(cfg, cfg.batch_size, tf.constant([seed, i], tf.int64))
        for k, x in enumerate(probe(z, training=True)):
            mean, variance = tf.nn.moments(tf.cast(x, tf.float32), axes=list(range(len(x.shape) - 1)))
            means[k] += mean.numpy() / batches
            variances[k] += variance.numpy() / batches
    for layer, mean, variance in zip(norms, means, variances, strict=True):
        layer.moving_mean.assign(mean.astype(np.float32))
        layer.moving_variance.assign(variance.astype(np.float32))


class ReplicaShard:
    """One replica's share of the global batch inside `strategy.run` (see `DCGAN.replica_step`).

    Replica r of R holds rows r::R of every global chunk of `cfg.batch_size` images; z is drawn for the whole
    chunk from the stateless seed and sliced the same way, so the replicas together see exactly the images and z of
    the single-device step.
    """

    def __init__(self, cfg: Config, replica: tf.Tensor | int, num_replicas: int) -> None:
        self.cfg, self.replica, self.num_replicas = cfg, replica, num_replicas
        self.global_batch = cfg.batch_size

    def z(self, seed: tf.Tensor) -> tf.Tensor:
        return sample_z_stateless(self.cfg, self.global_batch, seed)[self.replica :: self.num_replicas]

    def mean(self, per_example: tf.Tensor) -> tf.Tensor:
        """This replica's share of the global-batch mean: sum(per_example) / global batch."""
        return tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch)


def _bce_per_example(targets: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    return keras.losses.binary_crossentropy(targets, logits, from_logits=True)


def _batch_mean(shard: ReplicaShard | None) -> Callable[[tf.Tensor], tf.Tensor]:
    """The mean over the batch: plain on one device, this replica's share of the global mean under a strategy."""
    return tf.reduce_mean if shard is None else shard.mean


class DCGAN(keras.Model):
    """Generator + discriminator trained with the non-saturating GAN loss.

    `train_step` is the single-device step. For `tf.distribute` (see `dcgan.distributed`) the model is built
    under `strategy.scope()` and `replica_step` runs on every replica. `synchronized_bn=True` makes every
    BatchNormalization layer compute its training-time batch statistics over the global batch (all-reduced across
    replicas and workers) instead of per replica, so a distributed step normalises exactly the batch a single
    device would; the variables are the same either way, so checkpoints move freely between strategies.
    """

    def __init__(self, cfg: Config, synchronized_bn: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cfg = cfg
        self.generator = build_generator(cfg, synchronized_bn)
        self.discriminator = build_discriminator(cfg, synchronized_bn)
        self.g_optimizer = keras.optimizers.Adam(cfg.lr_g, beta_1=cfg.beta1, beta_2=cfg.beta2)
        self.d_optimizer = keras.optimizers.Adam(cfg.lr_d, beta_1=cfg.beta1, beta_2=cfg.beta2)
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        # EMA of G's weights and BN statistics (Yazici et al. 2019): smooths GAN training's oscillation
        self.generator_ema = build_generator(cfg) if cfg.g_ema else None
        if self.generator_ema is not None:
            self.generator_ema.trainable = False
            self.reset_ema()

    def call(self, z: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.generator(z, training=training)

    @property
    def sampler(self) -> keras.Model:
        """The generator to sample, score and export: the EMA one when the config keeps it."""
        return self.generator_ema or self.generator

    def reset_ema(self) -> None:
        """Start the average from G's current weights (new runs, and runs resumed from checkpoints without it)."""
        for average, variable in zip(self.generator_ema.variables, self.generator.variables, strict=True):
            average.assign(variable)

    def update_ema(self, step: tf.Tensor) -> None:
        """average ← d·average + (1 − d)·G with d = min(g_ema, (1 + step) / (10 + step)) (TF's warm-up).

        A fine-tuned run (`init_generator`) uses d = g_ema from the start: its average begins at trained weights,
        which the warm-up's short average would forget within a few steps.

        Runs after the G update, in cross-replica context under a distribution strategy, where G's
        (identical) replicas are read once and every copy of the average gets the same value.
        """
        if self.generator_ema is None:
            return
        t = tf.cast(step, tf.float32)
        decay = self.cfg.g_ema if self.cfg.init_generator else tf.minimum(self.cfg.g_ema, (1.0 + t) / (10.0 + t))
        for average, variable in zip(self.generator_ema.variables, self.generator.variables, strict=True):
            average.assign(decay * average + (1.0 - decay) * tf.cast(variable, average.dtype))

    def _augment(self, images: tf.Tensor, seed: tf.Tensor, salt: int, shard: ReplicaShard | None) -> tf.Tensor:
        """D's view of `images`: DiffAugment with the config's policy, drawn from (seed, salt); else unchanged."""
        if not self.cfg.augment_policy:
            return images
        replica, num_replicas = (0, 1) if shard is None else (shard.replica, shard.num_replicas)
        seed = tf.random.experimental.stateless_fold_in(seed, salt)
        return diff_augment(images, self.cfg.augment_policy, seed, replica, num_replicas)

    def _d_step(
        self, real: tf.Tensor, seed: tf.Tensor, shard: ReplicaShard | None = None, r1: bool = True
    ) -> dict[str, tf.Tensor]:
        batch = tf.shape(real)[0]
        z = sample_z_stateless(self.cfg, batch, seed) if shard is None else shard.z(seed)
        real_label = 1.0 - self.cfg.label_smoothing  # one-sided label smoothing
        mean = _batch_mean(shard)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            real_input = self._augment(real, seed, 1, shard)
            with tf.GradientTape(watch_accessed_variables=False) as input_tape:
                input_tape.watch(real_input)
                real_logits = self.discriminator(real_input, training=True)
                real_logit_sum = tf.reduce_sum(real_logits)
            fake_logits = self.discriminator(self._augment(fake, seed, 2, shard), training=True)
            real_targets = tf.fill(tf.shape(real_logits), real_label)
            d_loss = mean(_bce_per_example(real_targets, real_logits)) + mean(
                _bce_per_example(tf.zeros_like(fake_logits), fake_logits)
            )
            logs = {}
            if self.cfg.r1_gamma and r1:
                # R1 (Mescheder et al. 2018): γ/2·E‖∇ₓD(x)‖² on D's real inputs, differentiated again below; with
                # lazy R1 added on every r1_every-th step only, r1_every times over (logged once)
                input_grads = input_tape.gradient(real_logit_sum, real_input)
                penalty = mean(0.5 * self.cfg.r1_gamma * tf.reduce_sum(tf.square(input_grads), axis=[1, 2, 3]))
                logs["r1"] = penalty
                d_loss += self.cfg.r1_every * penalty
        grads = tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables, strict=True))
        # g_loss: G's non-saturating loss on these fakes, what a G step would have seen (logged when G rests)
        return {
            "d_loss": d_loss,
            "d_real": mean(tf.sigmoid(real_logits)[:, 0]),
            "d_fake": mean(tf.sigmoid(fake_logits)[:, 0]),
            "g_loss": mean(_bce_per_example(tf.ones_like(fake_logits), fake_logits)),
            **logs,
        }

    def _g_step(self, batch: tf.Tensor, seed: tf.Tensor, shard: ReplicaShard | None = None) -> tf.Tensor:
        z = sample_z_stateless(self.cfg, batch, seed) if shard is None else shard.z(seed)
        with tf.GradientTape() as tape:
            fake = self._augment(self.generator(z, training=True), seed, 2, shard)
            fake_logits = self.discriminator(fake, training=True)
            # non-saturating: max log D(G(z))
            g_loss = _batch_mean(shard)(_bce_per_example(tf.ones_like(fake_logits), fake_logits))
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables, strict=True))
        return g_loss

    def _step(
        self, images: tf.Tensor, step: tf.Tensor, train_g: bool, r1: bool, shard: ReplicaShard | None = None
    ) -> dict[str, tf.Tensor]:
        """`d_steps` D updates, one on each chunk of `images` (with the R1 penalty if `r1`), then one G update
        unless not `train_g`.

        Every draw comes from `step_seed(cfg.seed, step, slot)`, so a resumed run sees exactly the z and
        augmentations an uninterrupted run would. The EMA update is the caller's (see `replica_step`).
        """
        real = tf.cast(images, tf.float32) / 127.5 - 1.0
        d_steps = self.cfg.d_steps
        chunks = tf.split(real, d_steps) if d_steps > 1 else [real]
        for i, chunk in enumerate(chunks):
            logs = self._d_step(chunk, step_seed(self.cfg.seed, step, d_slot(i)), shard, r1)
        if not train_g:
            return logs
        g_loss = self._g_step(tf.shape(chunks[-1])[0], step_seed(self.cfg.seed, step, G_SLOT), shard)
        return {**logs, "g_loss": g_loss}

    @tf.function(reduce_retracing=True)
    def train_step(
        self, data: tuple[tf.Tensor, tf.Tensor], train_g: bool = True, r1: bool = True
    ) -> dict[str, tf.Tensor]:
        """One optimisation step on one device: `d_steps` discriminator updates, then one generator update and its
        average (unless not `train_g`, as in the `d_warmup` steps; then G and its average rest and g_loss is G's
        loss on D's last fakes). `r1`: whether D's updates add the R1 penalty (`Config.r1_due`).

        `data` is (uint8 images (batch_size · d_steps)×H×W×C, int64 global step).
        """
        images, step = data
        logs = self._step(images, step, train_g, r1)
        if train_g:
            self.update_ema(step)
        return logs

    def replica_step(
        self, images: tf.Tensor, step: tf.Tensor, train_g: bool = True, r1: bool = True
    ) -> dict[str, tf.Tensor]:
        """`train_step` on one replica, called by `strategy.run` on the replica's slice of the global batch.

        `images` holds rows r::R of each of the `d_steps` global chunks, chunk after chunk (see
        `dcgan.distributed.replica_positions`). Every loss is the per-example loss summed over the replica's rows
        and divided by the *global* batch (`tf.nn.compute_average_loss`); the optimizers all-reduce (sum) the
        gradients over the replicas, so each update follows the gradient of the global-batch mean, as on one
        device. The returned values are this replica's shares: their SUM over replicas is the global value.
        The caller updates the EMA generator afterwards, in cross-replica context (`update_ema`).
        """
        context = tf.distribute.get_replica_context()
        shard = ReplicaShard(self.cfg, context.replica_id_in_sync_group, context.num_replicas_in_sync)
        return self._step(images, step, train_g, r1, shard)

    def state_variables(self) -> dict[str, list]:
        """Every variable a checkpoint must hold, grouped and in a stable order."""
        groups = {
            "generator": self.generator.variables,
            "discriminator": self.discriminator.variables,
            "g_optimizer": self.g_optimizer.variables,
            "d_optimizer": self.d_optimizer.variables,
        }
        if self.generator_ema is not None:
            groups["g_ema"] = self.generator_ema.variables
        return groups
