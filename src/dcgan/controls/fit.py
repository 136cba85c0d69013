"""`dcgan controls fit`: a generator's named controls, fitted to it and written into its bundle in one step.

1. Generate `samples` faces from prior z and read them with the attribute classifier.
2. Calibrate: per attribute, the threshold on generated faces whose positive share equals the share the
   classifier finds among real faces (generated faces are read differently from photos; this corrects for it).
3. Fit one boundary per attribute (scikit-learn logistic regression on z → calibrated call, InterFaceGAN) and a
   ridge regression of age; report held-out accuracy and R².
4. Slider steps. Per face (`refine.py`): across the boundary to log-odds ±2 (age: 10 years). Along the
   boundary (the linear fallback): the smallest move that flips ≥ 92% of
   calls on other z with every other named attribute held; for age, the move that adds 10 years at the median.
5. SeFa directions from the weights, one step the prior's standard deviation along them (the page's ±3 steps are
   ±3σ, SeFa's own editing range); each is described by what one step does to the attributes.
6. The identity directions (`identity.py`): ridge regression from z to the face-recognition descriptor.
7. Copy the classifier into the bundle (weights in float16) and write `directions.json` + `directions.npz` (atomic).

Given several classifiers (trained alike, other seeds), all of it reads faces through their committee
(`classifier.Committee`), which the bundle then holds.
"""

from __future__ import annotations

import datetime
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from dcgan import __version__
from dcgan.bundle import WEIGHTS_FILE, FaceGenerator, weights_digest
from dcgan.controls.classifier import ATTRIBUTES, Committee, install, load_classifier
from dcgan.controls.directions import FORMAT, Directions, sefa
from dcgan.controls.identity import FaceIdentity
from dcgan.controls.runtime import AGE, CLASSIFIER_DIR, Classifier, Controls, calibrate
from dcgan.data import Cache
from dcgan.z import prior_std, sample_z

FLIP_TARGET = 0.92
AGE_STEP_YEARS = 10.0
SEFA_SLIDERS = 10
IDENTITY_ENERGY = 0.8
BATCH = 500
ACROSS = 2.0  # a refined step takes a face across the boundary to log-odds ±2 (p ≈ 0.88), see refine.py
REAL_FACES = 5_000
SHARE_FLOOR = 0.01  # the least positive (and negative) share a calibrated attribute keeps


def batched(fn: Callable[[np.ndarray], np.ndarray | dict], x: np.ndarray) -> np.ndarray | dict:
    parts = [fn(x[i : i + BATCH]) for i in range(0, len(x), BATCH)]
    if isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return np.concatenate(parts)


def real_faces(real: Path) -> np.ndarray:
    """The real faces a calibration compares generated ones with: the first `REAL_FACES` of the cache `real`."""
    return np.asarray(Cache.open(real).images[:REAL_FACES])


def fit_calibration(classifier: Classifier, generated: np.ndarray, real: np.ndarray) -> tuple[dict, dict]:
    """(the classifier's raw readings of the `generated` faces, the calibration `calibrate` applies to them: its
    `thresholds` against its readings of the `real` faces)."""
    raw = batched(classifier.predict, generated)
    return raw, thresholds(raw, batched(classifier.predict, real))


def thresholds(generated: dict[str, np.ndarray], real: dict[str, np.ndarray]) -> dict[str, dict]:
    """Per attribute: the threshold on generated faces' probabilities that calls as many of them positive as
    the classifier calls among real faces."""
    out = {}
    for name in ATTRIBUTES:
        real_share = float(np.mean(real[name] > 0.5))
        kept_share = float(np.clip(real_share, SHARE_FLOOR, 1 - SHARE_FLOOR))
        out[name] = {
            "real_share": real_share,
            "generated_share_uncalibrated": float(np.mean(generated[name] > 0.5)),
            "threshold": float(np.clip(np.quantile(generated[name], 1 - kept_share), 1e-4, 1 - 1e-4)),
        }
    return out


def fit_boundary(z: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, float, float]:
    """(unit normal, offset, held-out accuracy) of a logistic-regression boundary z → label."""
    from sklearn.linear_model import LogisticRegression

    held = np.random.default_rng(seed).random(len(z)) < 0.2
    fit = LogisticRegression(max_iter=2000).fit(z[~held], labels[~held])
    size = float(np.linalg.norm(fit.coef_[0]))
    return fit.coef_[0] / size, float(fit.intercept_[0]) / size, float(fit.score(z[held], labels[held]))


def fit_age(z: np.ndarray, years: np.ndarray, seed: int) -> tuple[np.ndarray, float, float, float]:
    """(unit normal, offset, years per unit, held-out R²) of a ridge regression z → age."""
    from sklearn.linear_model import Ridge

    held = np.random.default_rng(seed).random(len(z)) < 0.2
    fit = Ridge(alpha=1.0).fit(z[~held], years[~held])
    size = float(np.linalg.norm(fit.coef_))
    return fit.coef_ / size, float(fit.intercept_) / size, size, float(fit.score(z[held], years[held]))


def flip_rate(controls: Controls, z: np.ndarray, before: dict[str, np.ndarray], name: str) -> float:
    """Share of faces whose call on `name` flips when moved one step toward the other side (others held)."""
    positive = before[name] > 0.5
    moved = np.empty_like(z)
    for side, amount in ((positive, -1.0), (~positive, 1.0)):
        if side.any():
            moved[side] = controls.edit(z[side], {name: amount}).z
    after = controls.attributes(batched(controls.generate, moved))
    return float(np.mean((after[name] > 0.5) != positive))


def age_change(controls: Controls, z: np.ndarray, before: dict[str, np.ndarray]) -> float:
    after = controls.attributes(batched(controls.generate, controls.edit(z, {AGE: 1.0}).z))
    return float(np.median(after[AGE] - before[AGE]))


def search_step(measure: Callable[[float], float], goal: float, low: float = 0.05, high: float = 6.0) -> float:
    """The smallest step in [low, high] with measure(step) ≥ goal (bisection; measure grows with the step)."""
    if measure(high) < goal:
        return high
    for _ in range(7):
        middle = (low + high) / 2
        low, high = (low, middle) if measure(middle) >= goal else (middle, high)
    return high


def identity_basis(model: FaceGenerator, n: int, seed: int) -> tuple[np.ndarray, dict]:
    """The z-directions that move dlib's identity descriptor most, and how well a linear map explains it."""
    from sklearn.linear_model import Ridge

    z = sample_z(model.z_contract, n, [seed, 3], 1.0)
    embeddings = FaceIdentity().embed(batched(model.generate, z))
    held = np.random.default_rng(seed).random(n) < 0.2
    fit = Ridge(alpha=1.0).fit(z[~held], embeddings[~held])
    _, values, rows = np.linalg.svd(fit.coef_, full_matrices=False)  # coef_: 128 × dim
    energy = np.cumsum(values**2) / np.sum(values**2)
    k = int(np.searchsorted(energy, IDENTITY_ENERGY) + 1)
    return rows[:k].astype(np.float32), {
        "samples": n,
        "directions": k,
        "energy": IDENTITY_ENERGY,
        "held_out_r2": float(fit.score(z[held], embeddings[held])),
        "how": "top right-singular vectors of a ridge regression z → dlib face descriptor (128-D)",
    }


def strongest(effects: dict[str, float], n: int = 2) -> list[tuple[str, float]]:
    """The `n` attributes a discovered direction moves most: (label, mean change of the probability)."""
    top = sorted(effects.items(), key=lambda kv: -abs(kv[1]))[:n]
    return [(name.replace("_", " "), value) for name, value in top]


def sefa_label(index: int, effects: dict[str, float]) -> str:
    """A slider's default name in words, e.g. "#1 less male, more smiling" (`dcgan controls name` names it better)."""
    words = ", ".join(f"{'more' if value > 0 else 'less'} {name.lower()}" for name, value in strongest(effects))
    return f"#{index + 1} {words}"


def fit_controls(
    model_dir: Path,
    classifier_dirs: Sequence[Path],
    real: Path,
    samples: int = 10_000,
    calibration_samples: int = 256,
    identity_samples: int = 1_000,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> Directions:
    """The steps of the module docstring; the classifiers are read as the bundle will hold them (staged with
    `classifier.install`, float16 weights) and installed with the directions at the end."""
    members = [load_classifier(path) for path in classifier_dirs]
    with tempfile.TemporaryDirectory(prefix="dcgan-classifier-") as tmp:
        install(members[0] if len(members) == 1 else Committee(members), Path(tmp) / CLASSIFIER_DIR)
        classifier = load_classifier(Path(tmp) / CLASSIFIER_DIR)
        return fit_with(model_dir, classifier, real, samples, calibration_samples, identity_samples, seed, log)


def fit_with(
    model_dir: Path,
    classifier: Classifier,
    real: Path,
    samples: int,
    calibration_samples: int,
    identity_samples: int,
    seed: int,
    log: Callable[[str], None],
) -> Directions:
    start = time.time()
    model = FaceGenerator(model_dir)
    real_images = real_faces(real)
    contract = model.z_contract

    log(f"reading {samples} generated and {len(real_images)} real faces")
    z = sample_z(contract, samples, [seed, 1], 1.0)
    raw, calibration = fit_calibration(classifier, batched(model.generate, z), real_images)
    calls = calibrate(raw, calibration)

    attributes, normals, offsets = [], [], []
    for name in ATTRIBUTES:
        normal, offset, accuracy = fit_boundary(z, calls[name] > 0.5, seed)
        how = f"InterFaceGAN: logistic regression on {samples} generated faces' calls; held-out accuracy {accuracy:.3f}"
        attributes.append({"name": name, "kind": "attribute", "how": how, "held_out_accuracy": accuracy})
        normals.append(normal)
        offsets.append(offset)
    normal, offset, per_unit, r2 = fit_age(z, calls[AGE], seed)
    how = f"ridge regression of the classifier's age on {samples} generated faces; held-out R² {r2:.3f}"
    attributes.append({"name": AGE, "kind": "attribute", "how": how, "held_out_r2": r2, "years_per_unit": per_unit})
    normals.append(normal)
    offsets.append(offset)
    sefa_rows, values = sefa(model.generator)

    info = {
        "format": FORMAT,
        "generator_sha256": weights_digest(Path(model_dir) / WEIGHTS_FILE),
        "attributes": attributes,
        "calibration": calibration,
        "controls": [],
        "classifier": getattr(classifier, "info", {}),
    }
    directions = Directions(
        info,
        np.stack(normals).astype(np.float32),
        np.array(offsets, np.float32),
        sefa_rows,
        np.zeros((0, contract["dim"]), np.float32),
    )
    controls = Controls(directions, classifier, contract, model.generate)
    for spec in attributes:
        name = spec["name"]
        info["controls"].append(
            {
                **{k: spec[k] for k in ("name", "kind", "how")},
                "label": name.replace("_", " "),
                "step": 1.0,
                "logit_step": 1.0 if name == AGE else ACROSS,
            }
        )

    log(f"measuring slider steps on {calibration_samples} other faces")
    probe = sample_z(contract, calibration_samples, [seed, 2], 1.0)
    before = controls.attributes(batched(model.generate, probe))
    for control in info["controls"]:

        def measure(step: float, control: dict = control) -> float:
            control["step"] = step
            if control["name"] == AGE:
                return age_change(controls, probe, before) / AGE_STEP_YEARS
            return flip_rate(controls, probe, before, control["name"])

        goal = 1.0 if control["name"] == AGE else FLIP_TARGET
        control["step"] = round(search_step(measure, goal), 4)
        control["description"] = (
            f"one step: {AGE_STEP_YEARS:g} years older (solved per face; along the line: "
            f"{age_change(controls, probe, before):+.1f} years for a step of {control['step']:.2f})"
            if control["name"] == AGE
            else f"one step: across the boundary to log-odds ±{ACROSS:g}, solved per face (along the boundary's"
            f" normal, a step of {control['step']:.2f} flips {measure(control['step']):.0%} of calls)"
        )
        log(f"  {control['name']}: step {control['step']:.3f} ({control['description']})")

    sefa_step = prior_std(contract)
    share = values / values.sum()
    for index in range(min(SEFA_SLIDERS, len(sefa_rows))):
        moved = np.clip(probe + sefa_step * sefa_rows[index], contract["low"], contract["high"])
        after = controls.attributes(batched(model.generate, moved))
        effects = {n: float(np.mean(after[n] - before[n])) for n in ATTRIBUTES}
        info["controls"].append(
            {
                "name": f"sefa_{index}",
                "kind": "sefa",
                "index": index,
                "step": round(sefa_step, 4),
                "label": sefa_label(index, effects),
                "effects": effects,
                "how": f"SeFa: eigenvector {index} of the first layer's weights (BN folded), {share[index]:.1%} of "
                "the eigenvalues' sum",
                "description": "one step moves the probability of "
                + " and ".join(f"{name} by {value:+.2f}" for name, value in strongest(effects))
                + " on average",
            }
        )

    log(f"fitting the identity directions on {identity_samples} faces")
    directions.identity, info["identity"] = identity_basis(model, identity_samples, seed)
    info["fit"] = {
        "samples": samples,
        "calibration_samples": calibration_samples,
        "seed": seed,
        "real": str(real),
        "seconds": round(time.time() - start, 1),
        "dcgan_version": __version__,
        "date": datetime.date.today().isoformat(),
    }
    install(classifier, Path(model_dir) / CLASSIFIER_DIR)
    directions.save(model_dir)
    return directions
