"""A bundle's inverter: the encoder stored in `MODEL_DIR/encoder/`, the solver and the scores, behind
`FaceGenerator.invert` and `FaceGenerator.inverter`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf

from dcgan.atomic import atomic_dir, write_json_atomic
from dcgan.errors import ModelError, read_model_json
from dcgan.evaluation.reconstruction import psnr, ssim
from dcgan.inversion.encoder import build_encoder
from dcgan.inversion.features import DiscriminatorFeatures
from dcgan.inversion.refine import STEPS, Solver

ENCODER_DIR = "encoder"
INFO_FILE = "encoder.json"
WEIGHTS = "weights.npz"
FORMAT = 1
MAX_STEPS = 1000


@dataclass(frozen=True)
class Inversion:
    """z (N×z_dim, inside the box), their faces (uint8), and per-face scores against the inputs."""

    z: np.ndarray
    faces: np.ndarray
    scores: dict[str, np.ndarray]  # "psnr" (dB), "ssim", "perceptual" (D-feature distance)
    steps: int  # solver steps after the encoder's guess
    seconds: float


def has_encoder(model_dir: Path) -> bool:
    return (Path(model_dir) / ENCODER_DIR / INFO_FILE).exists()


def save_encoder(model_dir: Path, encoder, info: dict) -> Path:
    """Write the encoder into the bundle (float16 weights, tied to the generator's sha256), atomically."""
    from dcgan.bundle import WEIGHTS_FILE, save_variables, weights_digest

    model_dir = Path(model_dir)
    with atomic_dir(model_dir / ENCODER_DIR) as staging:
        save_variables(staging / WEIGHTS, encoder.variables, [v.numpy() for v in encoder.variables], "float16")
        info = {"format": FORMAT, "generator_sha256": weights_digest(model_dir / WEIGHTS_FILE), **info}
        write_json_atomic(staging / INFO_FILE, info)
    return model_dir / ENCODER_DIR


def load_encoder_weights(model_dir: Path, variables) -> None:
    """Assign the weights stored in a bundle's `encoder/` folder to an encoder's variables."""
    from dcgan.bundle import assign_variables

    assign_variables(Path(model_dir) / ENCODER_DIR / WEIGHTS, variables)


def read_encoder_info(model_dir: Path) -> dict:
    """The info of the encoder stored in a bundle's `encoder/` folder, whatever generator it was fitted to
    (`Inverter.load` checks that; a warm start of `dcgan encoder train --init-encoder` does not need to)."""
    missing = f"{model_dir} has no encoder for photos; train one with `dcgan encoder train {model_dir} --data DIR`"
    return read_model_json(Path(model_dir) / ENCODER_DIR / INFO_FILE, missing, FORMAT)


class Inverter:
    """Photo-framed faces → z: the encoder's guess refined by `Solver` for `steps` steps."""

    def __init__(self, model, info: dict, encoder, features: DiscriminatorFeatures) -> None:
        self.model, self.info, self.encoder, self.features = model, info, encoder, features
        contract = model.z_contract
        self.solver = Solver(model.generator, features, contract["low"], contract["high"])
        self._encode = tf.function(lambda x: encoder(x, training=False), reduce_retracing=True)

    @classmethod
    def load(cls, model) -> Inverter:
        """The inverter of a loaded `FaceGenerator`; a ModelError when its bundle has no (matching) encoder."""
        from dcgan.bundle import WEIGHTS_FILE, weights_digest

        info = read_encoder_info(model.model_dir)
        if info.get("generator_sha256") != weights_digest(Path(model.model_dir) / WEIGHTS_FILE):
            raise ModelError(
                f"{model.model_dir}'s encoder was trained for other generator weights; "
                f"train it again with `dcgan encoder train {model.model_dir} --data DIR`"
            )
        encoder = build_encoder(model.config, info["options"]["width"])
        load_encoder_weights(model.model_dir, encoder.variables)
        return cls(model, info, encoder, DiscriminatorFeatures(model.model_dir, model.config))

    def check(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        shape = self.model.image_shape
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or images.shape[1:] != shape or images.dtype != np.uint8 or len(images) == 0:
            raise ModelError(
                f"invert takes uint8 faces of {shape[0]}×{shape[1]}×{shape[2]} (one, or a batch) in the model's "
                f"framing (`dcgan.align_face` makes them from photos), got {images.dtype} {images.shape}"
            )
        return images

    def guess(self, images: np.ndarray) -> np.ndarray:
        """The encoder's z for uint8 faces (inside the box by construction)."""
        x = self.check(images).astype(np.float32) / 127.5 - 1.0
        return self._encode(tf.constant(x)).numpy()

    def invert(
        self, images: np.ndarray, steps: int | None = None, progress: Callable[[int, int], None] | None = None
    ) -> Inversion:
        """z for uint8 faces: the encoder's guess, then `steps` solver steps (None: `refine.STEPS`; 0: the guess
        alone); `progress(done, steps)` hears about each chunk of steps."""
        steps = STEPS if steps is None else steps
        if not 0 <= steps <= MAX_STEPS:
            raise ModelError(f"steps must be between 0 and {MAX_STEPS}, got {steps}")
        began = time.perf_counter()
        images = self.check(images)
        z = self.guess(images)
        if steps:
            z = self.solver.solve(z, images.astype(np.float32) / 127.5 - 1.0, steps, progress)
        faces = self.model.generate(z)
        return Inversion(z, faces, self.score(images, faces), steps, time.perf_counter() - began)

    def score(self, images: np.ndarray, faces: np.ndarray) -> dict[str, np.ndarray]:
        def scaled(x: np.ndarray) -> tf.Tensor:
            return tf.constant(x.astype(np.float32) / 127.5 - 1.0)

        perceptual = self.features.distance(scaled(faces), scaled(images)).numpy()
        return {"psnr": psnr(faces, images), "ssim": ssim(faces, images), "perceptual": perceptual}
