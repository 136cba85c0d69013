"""An attribute classifier for 64×64 faces: a small CNN with one sigmoid output per binary attribute (trained on
CelebA's labels; Male also on UTKFace's gender) and a linear head for the age in years (trained on UTKFace).

A classifier folder holds `classifier.json` (attribute names, architecture, age scale, validation metrics,
training provenance), `weights.npz` (float32 arrays keyed by variable path, no pickle; `dcgan.bundle`'s helpers) and,
after `dcgan classifier evaluate`, `metrics.json` (the test split's numbers).

A **committee** folder holds classifiers trained alike (other seeds) in `member-0/`, `member-1/`, … and a
`classifier.json` naming them; it reads a face as the mean of its members' logits and ages. Edits solved against a
committee must move what all of its members see, not one network's blind spots: changes found against an ensemble
carry over to other networks far more often than those found against one (Liu et al., "Delving into Transferable
Adversarial Examples", ICLR 2017).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import numpy as np

from dcgan import __version__
from dcgan.atomic import atomic_dir
from dcgan.errors import ModelError, read_model_json

ATTRIBUTES = (
    "Smiling",
    "Male",
    "Young",
    "Eyeglasses",
    "Blond_Hair",
    "Black_Hair",
    "Bald",
    "Beard",
    "Mouth_Slightly_Open",
)
AGE = "Age"
INFO_FILE = "classifier.json"
WEIGHTS_FILE = "weights.npz"
METRICS_FILE = "metrics.json"
IMAGE_SHAPE = (64, 64, 3)
DEFAULT_ARCHITECTURE = {"widths": [16, 32, 64, 128], "dense": 128, "dropout": 0.3}
AGE_SCALE = {"mean": 33.0, "std": 20.0}  # the age head predicts (years - mean) / std


def build_network(architecture: dict, n_attributes: int):
    """The Keras model: uint8-valued 64×64×3 in (scaled inside), {"attributes": logits (N, n), "age": (N, 1)} out.

    Per stage of `widths`: a stride-2 3×3 conv then a 3×3 conv (BN, ReLU), 64 → 4 px; global average pooling;
    a dense layer; dropout; the heads. Every layer is named, so variable paths (the weight file's keys) are stable.
    """
    import keras
    from keras import layers

    inputs = keras.Input(IMAGE_SHAPE, name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(inputs)
    for i, width in enumerate(architecture["widths"]):
        for j, stride in enumerate((2, 1)):
            x = layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False, name=f"conv{i}_{j}")(x)
            x = layers.BatchNormalization(name=f"bn{i}_{j}")(x)
            x = layers.Activation("relu", name=f"relu{i}_{j}")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dense(architecture["dense"], activation="relu", name="dense")(x)
    x = layers.Dropout(architecture["dropout"], name="dropout")(x)
    attributes = layers.Dense(n_attributes, name="attributes")(x)  # logits: sigmoid in `predict`
    age = layers.Dense(1, name="age")(x)
    return keras.Model(inputs, {"attributes": attributes, "age": age}, name="attribute_classifier")


class Reader:
    """Reading faces through `self._run` (float N×64×64×3 → {"attributes": logits, "age": scaled age}), shared by one
    classifier and a committee of them."""

    attributes: tuple[str, ...]
    age_scale: dict

    def raw(self, images: np.ndarray, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """(attribute logits N×A, age in years N) for uint8 N×64×64×3 images (other square sizes are resized to
        64 first, for generators of other sizes)."""
        import tensorflow as tf

        images = np.asarray(images)
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or images.shape[1] != images.shape[2] or images.shape[3] != IMAGE_SHAPE[2]:
            raise ModelError(f"the classifier takes N×64×64×3 uint8 images, got {images.dtype} {images.shape}")
        if images.dtype != np.uint8:
            raise ModelError(f"the classifier takes uint8 images (0–255), got {images.dtype}")
        logits, ages = [], []
        for start in range(0, len(images), batch_size):
            batch = images[start : start + batch_size].astype(np.float32)
            if batch.shape[1:] != IMAGE_SHAPE:
                batch = tf.image.resize(batch, IMAGE_SHAPE[:2], antialias=True).numpy()
            out = self._run(batch)
            logits.append(out["attributes"].numpy())
            ages.append(out["age"].numpy()[:, 0])
        if not logits:
            return np.zeros((0, len(self.attributes)), np.float32), np.zeros(0, np.float32)
        age = np.concatenate(ages) * self.age_scale["std"] + self.age_scale["mean"]
        return np.concatenate(logits), age.astype(np.float32)

    def predict(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """{attribute: float32 probability (N,), "Age": float32 years (N,)} for uint8 N×64×64×3 faces."""
        logits, age = self.raw(images)
        probabilities = (1 / (1 + np.exp(-logits.astype(np.float64)))).astype(np.float32)
        return {**{a: probabilities[:, i] for i, a in enumerate(self.attributes)}, AGE: age}

    def _forward(self, images):
        return self.network(images, training=False)

    def _compile(self) -> None:
        import tensorflow as tf

        self._run = tf.function(
            self._forward,
            reduce_retracing=True,
            input_signature=[tf.TensorSpec([None, *IMAGE_SHAPE], tf.float32)],
        )


class AttributeClassifier(Reader):
    """`predict(images)` → {attribute: probability, "Age": years}; `save(dir)`; `info` (classifier.json, with the
    test metrics of metrics.json under info["metrics"]["test"] once evaluated)."""

    def __init__(
        self,
        attributes: tuple[str, ...] = ATTRIBUTES,
        architecture: dict | None = None,
        age_scale: dict | None = None,
        info: dict | None = None,
    ) -> None:
        self.attributes = tuple(attributes)
        self.architecture = {**DEFAULT_ARCHITECTURE, **(architecture or {})}
        self.age_scale = dict(age_scale or AGE_SCALE)
        self.network = build_network(self.architecture, len(self.attributes))
        self.info = info or self._describe({}, {})
        self._compile()

    @property
    def parameters(self) -> int:
        return int(sum(np.prod(v.shape) for v in self.network.trainable_variables))

    def _describe(self, metrics: dict, provenance: dict) -> dict:
        return {
            "format": 1,
            "attributes": list(self.attributes),
            "outputs": [*self.attributes, AGE],
            "input": {"shape": list(IMAGE_SHAPE), "dtype": "uint8", "framing": "CelebA's usual DCGAN framing"},
            "architecture": self.architecture,
            "parameters": self.parameters,
            "age_scale": self.age_scale,
            "metrics": metrics,
            "provenance": provenance,
        }

    def describe(self, metrics: dict, provenance: dict) -> None:
        """Record the validation metrics and training provenance written by `save`."""
        self.info = self._describe(
            metrics,
            {
                **provenance,
                "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                "dcgan_version": __version__,
            },
        )

    def save(self, out: Path | str) -> Path:
        """Write `out` (replacing any folder there, README and metrics.json included) atomically."""
        from dcgan.atomic import write_json_atomic
        from dcgan.bundle import save_variables

        out = Path(out)
        variables = self.network.weights  # not `variables`: those add Dropout's seed state, named by a counter
        with atomic_dir(out) as staging:
            save_variables(staging / WEIGHTS_FILE, variables, [v.numpy() for v in variables], "float32")
            info = {k: v for k, v in self.info.items() if k != "metrics"}
            info["metrics"] = {k: v for k, v in self.info.get("metrics", {}).items() if k != "test"}
            write_json_atomic(staging / INFO_FILE, info)
        return out


class MeanOfNetworks:
    """Networks read as one: the mean of their outputs (called like a Keras model, as `refine.Refiner` calls it)."""

    def __init__(self, networks: list) -> None:
        self.networks = networks
        self.input_shape = networks[0].input_shape

    def __call__(self, images, training: bool = False) -> dict:
        outs = [network(images, training=training) for network in self.networks]
        return {key: sum(out[key] for out in outs) / len(outs) for key in ("attributes", "age")}


class Committee(Reader):
    """Classifiers trained alike, read as one (the mean of their logits and ages; see the module docstring)."""

    def __init__(self, members: list[AttributeClassifier]) -> None:
        if len(members) < 2:
            raise ModelError("a committee needs at least two classifiers")
        first = members[0]
        for member in members[1:]:
            if member.attributes != first.attributes or member.age_scale != first.age_scale:
                raise ModelError("a committee's classifiers must read the same attributes on the same age scale")
        self.members, self.attributes, self.age_scale = members, first.attributes, first.age_scale
        self.network = MeanOfNetworks([member.network for member in members])
        self.info = {
            "format": 1,
            "attributes": list(self.attributes),
            "outputs": [*self.attributes, AGE],
            "members": [f"member-{i}" for i in range(len(members))],
            "how": "the mean of the members' logits and ages",
            "member_info": [member.info for member in members],
        }
        self._compile()


def install(classifier: AttributeClassifier | Committee, out: Path) -> None:
    """Copy a classifier or committee loaded from folders into folder `out` (replacing it, atomically), as `dcgan
    controls fit` puts it into a bundle: a classifier's files, or each member's folder and the committee's list;
    weights in float16, like the rest of a bundle."""
    from dcgan.atomic import write_json_atomic

    with atomic_dir(Path(out)) as staging:
        if isinstance(classifier, Committee):
            for name, member in zip(classifier.info["members"], classifier.members, strict=True):
                copy_half(member, staging / name)
            write_json_atomic(staging / INFO_FILE, {k: v for k, v in classifier.info.items() if k != "member_info"})
        else:
            copy_half(classifier, staging)


def copy_half(classifier: AttributeClassifier, target: Path) -> None:
    """The files of the folder `classifier` was loaded from, copied to `target`, with its weights written in float16
    (`dcgan.bundle.save_variables`, as `save` writes them in float32)."""
    import shutil

    from dcgan.bundle import save_variables

    target.mkdir(parents=True, exist_ok=True)
    for item in Path(classifier.model_dir).iterdir():
        if item.is_file() and item.name != WEIGHTS_FILE:
            shutil.copy2(item, target / item.name)
    weights = classifier.network.weights
    save_variables(target / WEIGHTS_FILE, weights, [w.numpy() for w in weights], "float16")


def load_classifier(path: Path | str) -> AttributeClassifier | Committee:
    """The classifier (or committee) saved in folder `path`; a ModelError when it is missing or does not match its
    weights."""
    from dcgan.bundle import assign_variables

    path = Path(path)
    missing = f"{path} is not an attribute classifier (no {INFO_FILE}); train one with `dcgan classifier train`"
    info = read_model_json(path / INFO_FILE, missing, fmt=1)
    if "members" in info:
        committee = Committee([load_classifier(path / name) for name in info["members"]])
        committee.model_dir = path
        return committee
    metrics_path = path / METRICS_FILE
    if metrics_path.exists():
        try:
            info.setdefault("metrics", {})["test"] = json.loads(metrics_path.read_text())
        except json.JSONDecodeError as exc:
            raise ModelError(f"cannot read {metrics_path}: {exc} (re-run `dcgan classifier evaluate`)") from None
    clf = AttributeClassifier(tuple(info["attributes"]), info["architecture"], info["age_scale"], info)
    if not (path / WEIGHTS_FILE).exists():
        raise ModelError(f"{path} lacks {WEIGHTS_FILE}")
    assign_variables(path / WEIGHTS_FILE, clf.network.weights)
    clf.model_dir = path
    return clf
