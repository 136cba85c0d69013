"""Face identity, offline: dlib's face-recognition network (from `face-recognition-models`) on 64×64 faces.

Two faces whose 128-number descriptors are ≤ 0.6 apart are the same person by dlib's own rule. Generated faces
have the model's fixed framing, so the face box is fixed too (the box dlib's detector finds on them, as a share of
the side) instead of detected; the face is upscaled to 160 px first, as the network expects a ~150 px face chip.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

from dcgan.errors import ConfigError

SAME_PERSON = 0.6
SIDE = 160
BOX = (0.06, 0.15, 0.87, 0.96)  # left, top, right, bottom as shares of the side


def _models_dir() -> Path:
    # importing face_recognition_models itself needs pkg_resources (gone from new setuptools): locate its files only
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("face identity needs the `controls` extra: pip install -e '.[controls]'")
    return Path(spec.submodule_search_locations[0]) / "models"


class FaceIdentity:
    """`embed(images)` → N×128 descriptors; `distance(a, b)` → their Euclidean distances."""

    def __init__(self) -> None:
        try:
            import dlib
        except ImportError:
            raise ConfigError("face identity needs the `controls` extra: pip install -e '.[controls]'") from None
        models = _models_dir()
        self._shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self._net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))
        self._box = dlib.rectangle(*(round(f * SIDE) for f in BOX))

    def embed(self, images: np.ndarray) -> np.ndarray:
        out = np.empty((len(images), 128), np.float32)
        for i, image in enumerate(images):
            big = np.asarray(Image.fromarray(image).resize((SIDE, SIDE), Image.BICUBIC))
            out[i] = self._net.compute_face_descriptor(big, self._shape(big, self._box), 0)
        return out

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.linalg.norm(np.asarray(a) - np.asarray(b), axis=-1)
