"""Training the encoder E of a bundle's generator G (G and D stay frozen).

Each step takes a batch of z from the prior with their faces G(z), and a batch of real faces x (flipped at random):

    w_z · ‖E(G(z)) − z‖²                            E recovers z where the answer is known (BiGAN/ALI's pairs)
  + mean((G(E(x)) − x)²) + w_D · d_D(G(E(x)), x)    and on real faces, where it is not (In-Domain inversion)

so E learns G's own latent space and also where real faces land in it. Adam; the state is checkpointed
(`dcgan.checkpoint`) every `checkpoint_every` steps into a work folder beside the bundle, so an interrupted run
continues with `resume`. After the generator is fine-tuned, E can start from the encoder it had before (`init`, a
warm start) instead of from scratch: G moved a little, and so does the map E has to learn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from dcgan import checkpoint
from dcgan.data import BatchSource, Cache
from dcgan.errors import ConfigError
from dcgan.inversion.encoder import build_encoder
from dcgan.inversion.features import DiscriminatorFeatures
from dcgan.inversion.options import EncoderOptions
from dcgan.z import sample_z

VAL_FACES = 128


class EncoderTrainer:
    """The encoder with its optimizer and the compiled step."""

    def __init__(self, model, features: DiscriminatorFeatures, options: EncoderOptions) -> None:
        self.model, self.features, self.options = model, features, options
        self.encoder = build_encoder(model.config, options.width)
        self.optimizer = keras.optimizers.Adam(options.learning_rate, beta_1=0.5)
        self.optimizer.build(self.encoder.trainable_variables)
        self._step = tf.function(self._step_graph)

    def image_loss(self, images: tf.Tensor) -> tf.Tensor:
        rebuilt = tf.cast(self.model.generator(self.encoder(images, training=True), training=False), tf.float32)
        pixel = tf.reduce_mean((rebuilt - images) ** 2, axis=[1, 2, 3])
        return tf.reduce_mean(pixel + self.options.feature_weight * self.features.distance(rebuilt, images))

    def _step_graph(self, z: tf.Tensor, real: tf.Tensor) -> dict[str, tf.Tensor]:
        fake = tf.cast(self.model.generator(z, training=False), tf.float32)
        with tf.GradientTape() as tape:
            z_loss = tf.reduce_mean(tf.reduce_sum((self.encoder(fake, training=True) - z) ** 2, axis=1))
            real_loss = self.image_loss(real)
            total = self.options.z_weight * z_loss + real_loss
        grads = tape.gradient(total, self.encoder.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.encoder.trainable_variables, strict=True))
        return {"z": z_loss, "real": real_loss}

    def state(self) -> dict[str, list]:
        return {
            "encoder": [v.numpy() for v in self.encoder.variables],
            "optimizer": [v.numpy() for v in self.optimizer.variables],
        }

    def restore(self, path: Path) -> dict:
        """Load the checkpoint at `path` into the encoder and its optimizer; returns the checkpoint's meta."""
        return checkpoint.restore(path, {"encoder": self.encoder.variables, "optimizer": self.optimizer.variables})

    def warm_start(self, model_dir: Path) -> dict:
        """Start from the encoder stored in the bundle `model_dir` (fitted to any generator of the same shape);
        returns what the encoder's info records of it."""
        from dcgan.inversion.runtime import load_encoder_weights, read_encoder_info

        info = read_encoder_info(model_dir)
        if info["options"]["width"] != self.options.width:
            raise ConfigError(
                f"--init-encoder {model_dir} has an encoder of width {info['options']['width']}, "
                f"this run's is {self.options.width} (give --width {info['options']['width']})"
            )
        load_encoder_weights(model_dir, self.encoder.variables)
        return {"path": str(model_dir), **{k: info.get(k) for k in ("generator_sha256", "steps", "images_seen")}}

    def train(
        self,
        data: Path,
        work: Path,
        resume: bool = False,
        log: Callable[[int, dict], None] | None = None,
        warm: dict | None = None,
    ) -> dict:
        """Train for `options.steps` steps (continuing from the newest checkpoint in `work` with `resume`);
        returns {"steps", "seconds", "images_seen", "losses"} of the run, and "init_encoder": the warm start
        (`warm_start`'s record) the run began from, the checkpoint's when resumed, if any."""
        options = self.options
        cache = Cache.open(data)
        cache.check_shape(self.model.config.image_size, self.model.config.channels)
        source = BatchSource(cache.images, options.batch_size, options.seed, flip=True)
        start, seconds = 0, 0.0
        if resume and (found := checkpoint.list_checkpoints(work)):
            meta = self.restore(found[-1][1])
            start, seconds, warm = int(meta["step"]), float(meta.get("seconds", 0.0)), meta.get("init_encoder")
        losses: dict[str, float] = {}
        began = time.perf_counter() - seconds
        for step in range(start, options.steps):
            z = sample_z(self.model.z_contract, options.batch_size, seed=options.seed * 1_000_003 + step)
            real = source.batch(step).astype(np.float32) / 127.5 - 1.0
            out = self._step(tf.constant(z), tf.constant(real))
            losses = {k: float(v) for k, v in out.items()}
            if log and (step + 1) % 50 == 0:
                log(step + 1, losses)
            if (step + 1) % options.checkpoint_every == 0 or step + 1 == options.steps:
                meta = {"seconds": time.perf_counter() - began, "options": asdict(options), "data": str(data)}
                meta |= {"init_encoder": warm} if warm else {}
                checkpoint.save(work, step + 1, self.state(), meta, keep=2)
        return {
            "steps": options.steps,
            "seconds": round(time.perf_counter() - began, 1),
            "images_seen": 2 * options.steps * options.batch_size,
            "losses": {k: round(v, 5) for k, v in losses.items()},
            **({"init_encoder": warm} if warm else {}),
        }


def train_encoder(
    model_dir: Path,
    data: Path,
    options: EncoderOptions,
    val: Path | None = None,
    work: Path | None = None,
    resume: bool = False,
    log: Callable[[str], None] = print,
    init: Path | None = None,
) -> Path:
    """Train the encoder of a bundle's generator on a prepared cache of real faces and store it in the bundle
    (`MODEL_DIR/encoder/`), with its scores on `val` (up to `VAL_FACES` faces, before and after the solver).
    The training state is checkpointed in `work` (default: `runs/encoder-<bundle name>`). `init`: a bundle whose
    encoder the training starts from (it may be `model_dir` itself, before its generator's refit); a resumed run
    continues its checkpoint instead."""
    from dcgan.bundle import load_generator
    from dcgan.inversion.runtime import Inverter, save_encoder

    options.validate()
    model = load_generator(model_dir)
    features = DiscriminatorFeatures(model.model_dir, model.config)
    trainer = EncoderTrainer(model, features, options)
    work = Path(work) if work else Path("runs") / f"encoder-{Path(model_dir).resolve().name}"

    def report(step: int, losses: dict) -> None:
        log(f"step {step}/{options.steps}: " + ", ".join(f"{k} loss {v:.4f}" for k, v in losses.items()))

    warm = None
    if init is not None and resume and checkpoint.list_checkpoints(work):
        log(f"resuming the checkpoint in {work}: its own start is kept, --init-encoder {init} is not used")
    elif init is not None:
        warm = trainer.warm_start(Path(init))
        log(f"warm start from the encoder of {init} (fitted to generator {str(warm['generator_sha256'])[:12]})")
    result = trainer.train(Path(data), work, resume, report, warm)
    info = {"options": asdict(options), "data": str(data), **result}
    if val is not None:
        faces = Cache.open(val).images[:VAL_FACES]
        inverter = Inverter(model, info, trainer.encoder, features)
        info["val"] = {"faces": len(faces), "data": str(val)}
        for label, steps in (("encoder", 0), ("solved", None)):
            inversion = inverter.invert(faces, steps)
            scores = {k: round(float(np.mean(v)), 4) for k, v in inversion.scores.items()}
            info["val"][label] = {"solver_steps": inversion.steps, **scores}
            log(f"val {label}: " + ", ".join(f"{k} {v}" for k, v in info["val"][label].items()))
    return save_encoder(model_dir, trainer.encoder, info)
