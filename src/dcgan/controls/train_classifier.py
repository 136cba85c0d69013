"""Training and evaluating the attribute classifier on CelebA (attributes, Male) and UTKFace (Age, Male).

Data: a CelebA split cache (`train/`, `val/`, `test/` from `dcgan prepare`, split by person) whose manifests
name the CelebA file of each row; only faces with a row in the attribute file are used. UTKFace is read from its tar
(64×64 faces, labels in the names) and split by a hash of the file name: 90% train, 5% val, 5% test. Training keeps
the weights of the epoch with the lowest validation loss; the test split is only read by `evaluate`.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dcgan.controls.classifier import AGE, ATTRIBUTES, AttributeClassifier
from dcgan.controls.labels import CelebaLabels, read_celeba_attributes, utkface_labels
from dcgan.data import Cache
from dcgan.errors import ConfigError, DataError
from dcgan.provenance import relative

SPLITS = ("train", "val", "test")
UTKFACE_SHARES = (90, 5, 5)  # percent of the hash space per split
CROP_NOTE = (
    "UTKFace's crop differs from CelebA's usual framing (UTKFace: its own aligned crop, more of the head and "
    "background); Age and UTKFace-Male are measured on UTKFace's crop, the attributes on CelebA's"
)


@dataclass
class FaceSet:
    """Faces with labels: `labels` float32 N×A (0/1, NaN = unknown), `age` float32 N (NaN = unknown)."""

    images: np.ndarray
    labels: np.ndarray
    age: np.ndarray
    sources: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)

    @staticmethod
    def join(*sets: FaceSet) -> FaceSet:
        return FaceSet(
            np.concatenate([s.images for s in sets]),
            np.concatenate([s.labels for s in sets]),
            np.concatenate([s.age for s in sets]),
            {k: v for s in sets for k, v in s.sources.items()},
        )


def celeba_split(root: Path, split: str, labels: CelebaLabels, attributes=ATTRIBUTES) -> FaceSet:
    """The labelled faces of one split of a CelebA cache (rows whose file has a line in the attribute file)."""
    cache = Cache.open(Path(root) / split)
    files = cache.manifest.get("files")
    if not isinstance(files, list) or len(files) != len(cache.images):
        raise DataError(f"{cache.path}/manifest.json must list the CelebA file of each of its {len(cache.images)} rows")
    if cache.images.shape[1:] != (64, 64, 3):
        raise DataError(f"{cache.path} holds {cache.images.shape[1:]} images; the classifier takes 64×64×3")
    table, found = labels.matrix(files, attributes)
    if not found.any():
        raise DataError(f"none of the {len(files)} faces of {cache.path} has a row in the attribute file")
    images = np.asarray(cache.images[np.flatnonzero(found)])
    age = np.full(len(images), np.nan, np.float32)
    return FaceSet(images, table[found], age, {f"celeba_{split}": {"faces": int(found.sum()), "of": len(files)}})


def utkface_split_of(name: str) -> str:
    """train / val / test for a UTKFace file, from a hash of its base name (stable across machines)."""
    bucket = int(hashlib.sha256(Path(name).name.encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < UTKFACE_SHARES[0] else "val" if bucket < sum(UTKFACE_SHARES[:2]) else "test"


def read_utkface(tar_path: Path, attributes=ATTRIBUTES) -> tuple[dict[str, FaceSet], Counter]:
    """Each split's UTKFace faces from the tar (labels: Male from the gender, Age), and the skipped names by reason."""
    from PIL import Image

    tar_path = Path(tar_path)
    if not tar_path.is_file() or not tarfile.is_tarfile(tar_path):
        raise DataError(f"no UTKFace tar archive at {tar_path}")
    parts = {s: ([], [], []) for s in SPLITS}
    skipped = Counter()
    male = attributes.index("Male")
    with tarfile.open(tar_path) as tar:
        members = [m for m in tar if m.isfile()]
        labels, skipped = utkface_labels([m.name for m in members])
        for member in members:
            label = labels.get(member.name)
            if label is None:
                continue
            try:
                image = Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGB")
            except OSError:
                skipped["unreadable image"] += 1
                continue
            if image.size != (64, 64):
                skipped["not 64×64"] += 1
                continue
            row = np.full(len(attributes), np.nan, np.float32)
            row[male] = float(label.male)
            images, rows, ages = parts[utkface_split_of(member.name)]
            images.append(np.asarray(image, np.uint8))
            rows.append(row)
            ages.append(float(label.age))
    out = {}
    for split, (images, rows, ages) in parts.items():
        if not images:
            raise DataError(f"{tar_path} holds no labelled 64×64 UTKFace face for the {split} split")
        faces = {"faces": len(images), "skipped": dict(skipped), "split": "sha256(name) % 100: 90/5/5"}
        out[split] = FaceSet(
            np.stack(images), np.stack(rows), np.asarray(ages, np.float32), {f"utkface_{split}": faces}
        )
    return out, skipped


def masked_loss(logits, age, labels, true_age, age_scale: dict):
    """Mean binary cross-entropy over the known labels of each attribute (averaged over attributes with any),
    plus the Huber loss of the standardised age over the faces that have one."""
    import tensorflow as tf

    known = tf.math.is_finite(labels)
    target = tf.where(known, labels, 0.0)
    weight = tf.cast(known, tf.float32)
    bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=logits) * weight
    count = tf.reduce_sum(weight, axis=0)
    present = tf.cast(count > 0, tf.float32)
    attribute_loss = tf.reduce_sum(tf.reduce_sum(bce, axis=0) / tf.maximum(count, 1.0)) / tf.maximum(
        tf.reduce_sum(present), 1.0
    )
    has_age = tf.math.is_finite(true_age)
    scaled = tf.where(has_age, (true_age - age_scale["mean"]) / age_scale["std"], 0.0)
    error = tf.abs(scaled - age[:, 0])
    huber = tf.where(error < 1.0, 0.5 * error**2, error - 0.5) * tf.cast(has_age, tf.float32)
    age_loss = tf.reduce_sum(huber) / tf.maximum(tf.reduce_sum(tf.cast(has_age, tf.float32)), 1.0)
    return attribute_loss + age_loss, attribute_loss, age_loss


def scores(clf: AttributeClassifier, faces: FaceSet) -> dict:
    """Per attribute (faces with that label): accuracy and balanced accuracy at p = 0.5, ROC AUC (threshold-free: how
    well the probability ranks the faces, what the calibrated controls rely on; None with one class only), the
    labels' positive share, the predicted positive share; the age MAE (faces with an age); the mean loss."""
    import tensorflow as tf
    from sklearn.metrics import roc_auc_score

    logits, age = clf.raw(faces.images)
    out = {}
    for i, name in enumerate(clf.attributes):
        known = np.isfinite(faces.labels[:, i])
        if not known.any():
            continue
        truth, guess = faces.labels[known, i] > 0.5, logits[known, i] > 0
        recall = [float(np.mean(guess[truth == c] == c)) for c in (True, False) if (truth == c).any()]
        out[name] = {
            "n": int(known.sum()),
            "accuracy": float(np.mean(truth == guess)),
            "balanced_accuracy": float(np.mean(recall)),
            "auc": float(roc_auc_score(truth, logits[known, i])) if 0 < truth.sum() < len(truth) else None,
            "positive_share": float(truth.mean()),
            "predicted_share": float(guess.mean()),
        }
    has_age = np.isfinite(faces.age)
    if has_age.any():
        out[AGE] = {"n": int(has_age.sum()), "mae_years": float(np.mean(np.abs(age[has_age] - faces.age[has_age])))}
    scaled_age = ((age - clf.age_scale["mean"]) / clf.age_scale["std"])[:, None]
    loss = masked_loss(tf.constant(logits), tf.constant(scaled_age), faces.labels, faces.age, clf.age_scale)[0]
    out["loss"] = float(loss)
    return out


def load_data(celeba: Path, labels_file: Path, utkface: Path, splits=SPLITS) -> dict[str, dict[str, FaceSet]]:
    """{split: {"celeba": FaceSet, "utkface": FaceSet}} for the requested splits."""
    labels = read_celeba_attributes(labels_file)
    utk, _ = read_utkface(utkface)
    return {s: {"celeba": celeba_split(celeba, s, labels), "utkface": utk[s]} for s in splits}


def train_classifier(
    celeba: Path,
    labels_file: Path,
    utkface: Path,
    out: Path,
    epochs: int = 12,
    batch_size: int = 64,
    seed: int = 0,
    learning_rate: float = 2e-3,
    architecture: dict | None = None,
    data: dict | None = None,
    log=print,
) -> AttributeClassifier:
    """Train on the train splits, keep the epoch of lowest val loss, save to `out`; `data` (from `load_data`)
    replaces reading the files (tests)."""
    import keras
    import tensorflow as tf

    if epochs < 1 or batch_size < 2:
        raise ConfigError(f"epochs must be >= 1 and batch size >= 2, got {epochs} and {batch_size}")
    started = time.monotonic()
    data = data or load_data(celeba, labels_file, utkface, ("train", "val"))
    train, val = FaceSet.join(*data["train"].values()), FaceSet.join(*data["val"].values())
    keras.utils.set_random_seed(seed)
    clf = AttributeClassifier(architecture=architecture)
    network, scale = clf.network, clf.age_scale
    steps = max(1, len(train) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, epochs * steps, alpha=0.05)
    optimizer = keras.optimizers.Adam(schedule)

    @tf.function(reduce_retracing=True)
    def step(images, labels, age):
        with tf.GradientTape() as tape:
            out = network(images, training=True)
            loss, attribute_loss, age_loss = masked_loss(out["attributes"], out["age"], labels, age, scale)
        grads = tape.gradient(loss, network.trainable_variables)
        optimizer.apply_gradients(zip(grads, network.trainable_variables, strict=True))
        return loss, attribute_loss, age_loss

    rng = np.random.default_rng(seed)
    best, history = None, []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(train))
        totals = np.zeros(3)
        for k in range(steps):
            rows = np.sort(order[k * batch_size : (k + 1) * batch_size])
            images = train.images[rows]
            flip = rng.random(len(rows)) < 0.5
            images[flip] = images[flip, :, ::-1]
            totals += [float(v) for v in step(images.astype(np.float32), train.labels[rows], train.age[rows])]
        val_scores = scores(clf, val)
        balanced = [v["balanced_accuracy"] for k, v in val_scores.items() if k in clf.attributes]
        record = {
            "epoch": epoch,
            "train_loss": round(float(totals[0]) / steps, 4),
            "val_loss": round(val_scores["loss"], 4),
            "val_mean_balanced_accuracy": round(float(np.mean(balanced)), 4),
            "val_age_mae": round(val_scores.get(AGE, {}).get("mae_years", float("nan")), 3),
            "seconds": round(time.monotonic() - started, 1),
        }
        history.append(record)
        log(" ".join(f"{k} {v}" for k, v in record.items()))
        if best is None or val_scores["loss"] < best[0]:
            best = (val_scores["loss"], epoch, [v.numpy() for v in network.weights], val_scores)
    _, best_epoch, weights, val_scores = best
    for variable, array in zip(network.weights, weights, strict=True):
        variable.assign(array)
    sources = {**train.sources, **val.sources}
    clf.describe(
        {
            "val": val_scores,
            "chosen_by": "lowest val loss",
            "best_epoch": best_epoch,
            "history": history,
            "note": CROP_NOTE,
        },
        {
            "celeba": relative(celeba) if celeba else None,
            "labels": relative(labels_file) if labels_file else None,
            "utkface": relative(utkface) if utkface else None,
            "faces": sources,
            "epochs": epochs,
            "batch_size": batch_size,
            "seed": seed,
            "learning_rate": learning_rate,
            "optimizer": "Adam, cosine decay to 5%",
            "augmentation": "horizontal flip",
            "train_seconds": round(time.monotonic() - started, 1),
        },
    )
    clf.save(out)
    return clf


def evaluate_classifier(clf: AttributeClassifier, celeba: Path, labels_file: Path, utkface: Path) -> dict:
    """The test split's scores: CelebA attributes (Male too), UTKFace's Male and Age, and as a cross-domain check
    the mean predicted age of CelebA's Young and not-Young test faces."""
    data = load_data(celeba, labels_file, utkface, ("test",))["test"]
    celeba_scores = scores(clf, data["celeba"])
    utk_scores = scores(clf, data["utkface"])
    young = clf.attributes.index("Young") if "Young" in clf.attributes else None
    check = {}
    if young is not None:
        ages = clf.predict(data["celeba"].images)[AGE]
        for value, key in ((1.0, "Young"), (0.0, "not Young")):
            rows = data["celeba"].labels[:, young] == value
            if rows.any():
                check[key] = round(float(ages[rows].mean()), 2)
    return {
        "split": "test",
        "threshold": 0.5,
        "celeba": {k: v for k, v in celeba_scores.items() if k != "loss"},
        "utkface": {k: v for k, v in utk_scores.items() if k != "loss"},
        "celeba_mean_predicted_age": check,
        "data": {"celeba": relative(celeba), "labels": relative(labels_file), "utkface": relative(utkface)},
        "note": CROP_NOTE,
    }


def table(metrics: dict) -> str:
    """The evaluate table: one line per attribute (CelebA test; UTKFace's Male below), then the age MAE."""
    lines = [f"{'attribute':<22}{'n':>6}{'accuracy':>10}{'balanced':>10}{'AUC':>7}{'positive':>10}{'predicted':>10}"]
    for source in ("celeba", "utkface"):
        for name, s in metrics[source].items():
            if name == AGE:
                continue
            label = name if source == "celeba" else f"{name} (UTKFace)"
            auc = "" if s.get("auc") is None else f"{s['auc']:.3f}"
            lines.append(
                f"{label:<22}{s['n']:>6}{s['accuracy']:>10.3f}{s['balanced_accuracy']:>10.3f}{auc:>7}"
                f"{s['positive_share']:>10.3f}{s['predicted_share']:>10.3f}"
            )
    age = metrics["utkface"].get(AGE)
    if age:
        lines.append(f"Age MAE (UTKFace test): {age['mae_years']:.2f} years over {age['n']} faces")
    return "\n".join(lines)
