"""The named controls of one generator: what `dcgan controls fit` stores in a model bundle and everything reads.

Two files beside the weights, pickle-free: `directions.json` (names, how each was made, slider steps, calibration,
measurements) and `directions.npz` (the vectors). Three kinds of vector, all unit vectors in z-space:

- **attribute** (InterFaceGAN, Shen et al. 2020): the normal of a linear boundary fitted by scikit-learn to the
  attribute classifier's calls on generated faces; `offset` makes n·z + offset the signed distance to it. "Age"
  is a ridge regression of the classifier's age (years ≈ n·z·years_per_unit + offset·years_per_unit).
- **sefa** (SeFa, Shen & Zhou 2021): the eigenvectors of AᵀA, A the generator's first dense layer with its batch
  norm folded in; closed form, no labels. All dim of them form the orthonormal basis that crossing mixes in.
- **identity**: the z-directions that move a face-recognition embedding most (the top right-singular vectors of a
  ridge regression from z to dlib's 128-number descriptor); the identity lock keeps children off them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from dcgan.atomic import atomic_path, write_json_atomic
from dcgan.errors import ModelError, read_model_json

JSON_FILE = "directions.json"
ARRAYS_FILE = "directions.npz"
FORMAT = 1


def sefa(generator: keras.Model) -> tuple[np.ndarray, np.ndarray]:
    """SeFa's closed-form directions of `generator`'s first dense layer: (dim×dim rows, eigenvalues), largest
    first, each row's sign fixed so that its largest-magnitude entry is positive (deterministic across runs)."""
    weight = np.asarray(generator.get_layer("project").kernel, np.float64)  # dim × (4·4·C)
    bn = generator.get_layer("project_bn")
    scale = np.asarray(bn.gamma) / np.sqrt(np.asarray(bn.moving_variance) + bn.epsilon)
    folded = weight * np.tile(scale, weight.shape[1] // scale.size)[None, :]  # BN acts per channel (last axis)
    values, vectors = np.linalg.eigh(folded @ folded.T)
    order = np.argsort(values)[::-1]
    rows = vectors[:, order].T
    rows *= np.sign(rows[np.arange(len(rows)), np.argmax(np.abs(rows), axis=1)])[:, None]
    return rows.astype(np.float32), values[order].astype(np.float32)


@dataclass
class Directions:
    """The vectors and their descriptions; `info["controls"]` lists every slider in page order."""

    info: dict
    normals: np.ndarray  # attributes × dim, in the order of info["attributes"]
    offsets: np.ndarray  # attributes
    sefa: np.ndarray  # dim × dim, rows largest first
    identity: np.ndarray  # k × dim

    @property
    def attributes(self) -> list[str]:
        return [a["name"] for a in self.info["attributes"]]

    def controls(self) -> list[dict]:
        """Every slider: {"name", "kind", "label", "how", "step", "description"}."""
        return self.info["controls"]

    def control(self, name: str) -> dict:
        for c in self.info["controls"]:
            if c["name"] == name:
                return c
        known = ", ".join(c["name"] for c in self.info["controls"])
        raise ModelError(f"no direction named {name!r}; this model has: {known}")

    def vector(self, name: str) -> np.ndarray:
        """The unit vector of a control."""
        c = self.control(name)
        if c["kind"] == "attribute":
            return self.normals[self.attributes.index(name)]
        return self.sefa[c["index"]]

    def save(self, model_dir: Path) -> None:
        with atomic_path(Path(model_dir) / ARRAYS_FILE) as tmp, open(tmp, "wb") as f:
            np.savez(f, normals=self.normals, offsets=self.offsets, sefa=self.sefa, identity=self.identity)
        write_json_atomic(Path(model_dir) / JSON_FILE, self.info)

    @classmethod
    def load(cls, model_dir: Path) -> Directions:
        """The directions of a bundle; a ModelError if there are none or they were fitted to other weights."""
        from dcgan.bundle import WEIGHTS_FILE, weights_digest

        model_dir = Path(model_dir)
        missing = f"{model_dir} has no named controls; make them with `dcgan controls fit {model_dir}`"
        info = read_model_json(model_dir / JSON_FILE, missing, FORMAT)
        try:
            with np.load(model_dir / ARRAYS_FILE, allow_pickle=False) as arrays:
                data = {k: arrays[k] for k in ("normals", "offsets", "sefa", "identity")}
        except FileNotFoundError:
            raise ModelError(missing) from None
        if info.get("generator_sha256") != weights_digest(model_dir / WEIGHTS_FILE):
            raise ModelError(
                f"{model_dir}'s directions were fitted to other generator weights; "
                f"fit them again with `dcgan controls fit {model_dir}`"
            )
        return cls(info=info, **data)
