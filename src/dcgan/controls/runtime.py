"""Named controls at run time: edit, constrained sampling ("make me a face that is …") and breeding.

`Controls` joins a generator's `Directions` (see `directions.py`), its z contract and the bundled attribute
classifier; `FaceGenerator.controls` builds it on first use and the Python API, the HTTP API and the page all go
through it. Amounts are in slider steps: one step of a named attribute takes a face across its boundary (solved per
face, `refine.py`; along the boundary's normal, the fitted distance that flips ≥ 92% of calls), one step of a
discovered direction the prior's standard deviation along it (`dcgan.z.prior_std`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from dcgan.controls.classifier import load_classifier
from dcgan.controls.directions import Directions
from dcgan.controls.linear import Move, move_in_box, newly_saturated, reflect
from dcgan.controls.refine import MAX_STEPS, MIN_STEPS, Refiner
from dcgan.errors import ModelError
from dcgan.z import ZContract, check_z, clip_z, sample_z

CLASSIFIER_DIR = "classifier"
AGE = "Age"
MAX_AMOUNT = 10.0
MAX_PARENTS = 8
# the identity lock: what a locked child may change, what it keeps, and the share of the free draw it takes
VARIED = ("Smiling", "Mouth_Slightly_Open", "Eyeglasses", "Blond_Hair", "Black_Hair")
KEPT = ("Male", "Young", AGE, "Bald", "Beard")
LOCKED_NOISE = 0.3
LOCKED_STEPS = 1.0  # a locked child's attribute moves by up to ±LOCKED_STEPS·amount slider steps


class Classifier(Protocol):
    def predict(self, images: np.ndarray) -> dict[str, np.ndarray]: ...


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.log(p) - np.log1p(-p)


def calibrate(raw: Mapping[str, np.ndarray], calibration: Mapping[str, dict]) -> dict[str, np.ndarray]:
    """The classifier's probabilities shifted in log-odds so that `threshold` (fitted on generated faces so that
    their positive share matches real faces') becomes 0.5; ages unchanged."""
    out = {}
    for name, values in raw.items():
        if name in calibration:
            shifted = logit(values) - logit(calibration[name]["threshold"])
            values = 1.0 / (1.0 + np.exp(-shifted))
        out[name] = np.asarray(values, np.float32)
    return out


@dataclass(frozen=True)
class Sampled:
    """Constrained sampling's answer: z (n×dim), whether each meets every constraint, attributes, and effort."""

    z: np.ndarray
    satisfied: np.ndarray
    attributes: dict[str, np.ndarray]
    tried: int
    seconds: float


class Controls:
    """The controls of one generator (see the module docstring); `Controls.load` reads them from a bundle."""

    def __init__(
        self,
        directions: Directions,
        classifier: Classifier,
        contract: ZContract,
        generate: Callable[[np.ndarray], np.ndarray],
        refiner: Refiner | None = None,
    ) -> None:
        self.directions = directions
        self.classifier = classifier
        self.contract = contract
        self.generate = generate
        self.refiner = refiner
        self.low, self.high = float(contract["low"]), float(contract["high"])
        self.centre = (self.low + self.high) / 2 if contract["prior"] == "uniform" else 0.0

    @classmethod
    def load(
        cls,
        model_dir: Path,
        contract: ZContract,
        generate: Callable[[np.ndarray], np.ndarray],
        generator: Any = None,
    ) -> Controls:
        """The controls in a bundle; with the generator's Keras model, named edits are refined (see `refine.py`)."""
        directions = Directions.load(model_dir)
        classifier = load_classifier(Path(model_dir) / CLASSIFIER_DIR)
        refiner = None
        if generator is not None:
            offsets = logit([directions.info["calibration"][a]["threshold"] for a in classifier.attributes])
            refiner = Refiner(
                generator,
                classifier.network,
                offsets,
                classifier.age_scale,
                *map(float, (contract["low"], contract["high"])),
            )
        return cls(directions, classifier, contract, generate, refiner)

    def checked(self, z: np.ndarray) -> np.ndarray:
        """z as N×dim, inside the box (a normal prior's rare draws past ±3σ are clipped to it before a move)."""
        return clip_z(self.contract, check_z(self.contract, z, within_range=False))

    # --- reading faces -------------------------------------------------------------------------------------------
    def attributes(self, images: np.ndarray) -> dict[str, np.ndarray]:
        """Calibrated attribute probabilities (and age in years) of uint8 faces N×H×W×C."""
        return calibrate(self.classifier.predict(images), self.directions.info["calibration"])

    def meets(self, attributes: Mapping[str, np.ndarray], constraints: Mapping[str, object]) -> np.ndarray:
        ok = np.ones(len(next(iter(attributes.values()))), bool)
        for name, want in constraints.items():
            if name == AGE:
                low, high = want
                ok &= (attributes[AGE] >= low) & (attributes[AGE] <= high)
            else:
                ok &= (attributes[name] > 0.5) == bool(want)
        return ok

    # --- editing -------------------------------------------------------------------------------------------------
    def edit(
        self, z: np.ndarray, moves: Mapping[str, float], hold: Sequence[str] | None = None, refine: bool = True
    ) -> Move:
        """z (one or a batch) moved by `moves` ({name: slider steps}); `hold` lists the attributes kept still
        (None: every named attribute not moved; []: none). Discovered (SeFa) directions move along their line;
        named attributes are solved per face (`refine.py`) when the bundle's generator is at hand and `refine`,
        else along their boundary's normal (`linear.move_in_box`). z stays inside the box either way."""
        single = np.ndim(z) == 1
        z = self.checked(z)
        attributes = self.directions.attributes
        for name, amount in moves.items():
            self.directions.control(name)
            if not math.isfinite(float(amount)) or abs(float(amount)) > MAX_AMOUNT:
                raise ModelError(f"the amount for {name!r} must be a number in [-{MAX_AMOUNT:g}, {MAX_AMOUNT:g}]")
        hold = [a for a in attributes if a not in moves] if hold is None else list(hold)
        for name in hold:
            if name not in attributes:
                raise ModelError(f"can hold only named attributes ({', '.join(attributes)}), not {name!r}")
        named = {k: float(v) for k, v in moves.items() if k in attributes and v != 0}
        if named and refine and self.refiner is not None:
            line = {k: v for k, v in moves.items() if k not in named}
            move = self.refined(self.linear(z, line, []).z if line else z, named, hold)
        else:
            move = self.linear(z, moves, hold)
        return Move(move.z[0], move.lost[:1], move.saturated[:1]) if single else move

    def linear(self, z: np.ndarray, moves: Mapping[str, float], hold: Sequence[str]) -> Move:
        rows = [self.directions.vector(name) for name in moves]
        targets = [float(amount) * self.directions.control(name)["step"] for name, amount in moves.items()]
        for name in hold:
            if name not in moves:
                rows.append(self.directions.vector(name))
                targets.append(0.0)
        if not rows:
            return Move(z.copy(), np.zeros(len(z), np.float32), np.zeros(len(z), int))
        return move_in_box(z, np.stack(rows), np.tile(targets, (len(z), 1)), self.low, self.high)

    def refined(self, z: np.ndarray, moves: Mapping[str, float], hold: Sequence[str]) -> Move:
        order = self.scores()
        amounts, held = np.zeros((len(z), len(order)), np.float32), np.zeros((len(z), len(order)), np.float32)
        for name, amount in moves.items():
            amounts[:, order.index(name)] = amount
        held[:, [order.index(name) for name in hold if name not in moves]] = 1
        solved, lost = self.solve(z, amounts, held)
        return Move(solved, lost, newly_saturated(z, solved, self.low, self.high))

    def scores(self) -> list[str]:
        """The refiner's scores in order: the classifier's attributes, then age."""
        return [*self.classifier.attributes, AGE]

    def solve(
        self, z: np.ndarray, amounts: np.ndarray, held: np.ndarray, max_steps: int = MAX_STEPS
    ) -> tuple[np.ndarray, np.ndarray]:
        """`Refiner.solve` with this bundle's slider steps (N×scores `amounts` in steps, `held` a mask)."""
        order = self.scores()
        steps = np.array([self.directions.control(name)["logit_step"] for name in order], np.float32)
        relative = np.array([name == AGE for name in order], np.float32)
        return self.refiner.solve(z, amounts, steps, relative, held, max_steps)

    # --- "make me a face that is …" -------------------------------------------------------------------------------
    def check_constraints(self, constraints: Mapping[str, object]) -> dict[str, object]:
        checked: dict[str, object] = {}
        for name, want in constraints.items():
            if name == AGE:
                if (
                    not isinstance(want, Sequence)
                    or len(want) != 2
                    or not all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 120 for v in want)
                ):
                    raise ModelError("Age must be two ages in years, [low, high], each in [0, 120]")
                want = sorted(want)
                checked[name] = (float(want[0]), float(want[1]))
            elif name in self.directions.attributes:
                if not isinstance(want, bool):
                    raise ModelError(f"{name} must be true or false")
                checked[name] = want
            else:
                raise ModelError(f"unknown attribute {name!r}; known: {', '.join(self.directions.attributes)}")
        return checked

    def steer(self, z: np.ndarray, constraints: Mapping[str, object]) -> np.ndarray:
        """z moved (least change, inside the box) to the side of every boundary the constraints ask for, half a
        slider step beyond it; an age range aims at its middle half."""
        if not constraints:
            return z
        rows, targets = [], []
        for name, want in constraints.items():
            index = self.directions.attributes.index(name)
            normal, offset = self.directions.normals[index], self.directions.offsets[index]
            distance = z @ normal + offset
            spec = self.directions.info["attributes"][index]
            if name == AGE:
                per_year = 1.0 / spec["years_per_unit"]
                low, high = want
                aim = np.clip(distance, (low + (high - low) / 4) * per_year, (high - (high - low) / 4) * per_year)
                targets.append(aim - distance)
            else:
                margin = 0.5 * self.directions.control(name)["step"]
                targets.append(np.maximum(margin - distance, 0) if want else np.minimum(-margin - distance, 0))
            rows.append(normal)
        return move_in_box(z, np.stack(rows), np.stack(targets, axis=1), self.low, self.high).z

    def sample_where(
        self,
        constraints: Mapping[str, object],
        n: int,
        seed: int | None,
        truncation: float,
        rounds: int = 4,
    ) -> Sampled:
        """n faces that meet `constraints` ({attribute: true/false, "Age": [low, high]}) by the classifier:
        prior samples steered to the asked side of each boundary, checked, and kept; after `rounds` batches the
        closest misses fill the rest (marked unsatisfied)."""
        start = time.perf_counter()
        constraints = self.check_constraints(constraints)
        rng = np.random.default_rng(seed)
        kept_z, kept_ok, kept_attrs, tried = [], [], [], 0
        batch = max(4 * n, 32)
        for _ in range(rounds):
            z = self.steer(sample_z(self.contract, batch, rng.integers(2**63), truncation), constraints)
            attrs = self.attributes(self.generate(z))
            ok = self.meets(attrs, constraints)
            kept_z.append(z)
            kept_ok.append(ok)
            kept_attrs.append(attrs)
            tried += batch
            if sum(int(k.sum()) for k in kept_ok) >= n:
                break
        z, ok = np.concatenate(kept_z), np.concatenate(kept_ok)
        attrs = {k: np.concatenate([a[k] for a in kept_attrs]) for k in kept_attrs[0]}
        order = np.argsort(~ok, kind="stable")[:n]
        return Sampled(z[order], ok[order], {k: v[order] for k, v in attrs.items()}, tried, time.perf_counter() - start)

    # --- breeding ------------------------------------------------------------------------------------------------
    def children(self, z: np.ndarray, n: int, amount: float, lock: bool, seed: int | None = None) -> np.ndarray:
        """n variations of one z: z + amount·(a prior draw − its centre), folded back into the box.

        With the identity lock a child changes what does not make the person: a smaller draw (`LOCKED_NOISE` of
        the size) with the identity directions (`Directions.identity`) taken out, then one attribute of
        `VARIED` (expression, glasses, hair colour) moved by up to ±`LOCKED_STEPS`·amount steps, solved per face
        with the attributes that go with who someone is (`KEPT`) held and the picture anchored (`refine.py`). Without
        the per-face solve (no generator at hand) the lock is the projected draw alone, at full size."""
        if np.ndim(z) != 1:
            raise ModelError("children takes one z")
        z = self.checked(z)[0]
        if not 0 < amount <= 1:
            raise ModelError("amount must be in (0, 1]")
        rng = np.random.default_rng(seed)
        noise = amount * (sample_z(self.contract, n, rng.integers(2**63)) - self.centre)
        if not lock:
            return reflect(z[None, :] + noise, self.low, self.high)
        basis = self.directions.identity
        size = np.linalg.norm(noise, axis=1, keepdims=True)
        noise = noise - (noise @ basis.T) @ basis
        noise *= size / np.maximum(np.linalg.norm(noise, axis=1, keepdims=True), 1e-12)
        if self.refiner is None:
            return reflect(z[None, :] + noise, self.low, self.high)
        start = reflect(z[None, :] + LOCKED_NOISE * noise, self.low, self.high)
        order = self.scores()
        varied = [name for name in VARIED if name in order]
        amounts, held = np.zeros((n, len(order)), np.float32), np.zeros((n, len(order)), np.float32)
        change = LOCKED_STEPS * amount * rng.uniform(-1, 1, n)  # drawn before the attributes: a seed keeps its children
        amounts[np.arange(n), [order.index(name) for name in rng.choice(varied, n)]] = change
        held[:, [order.index(name) for name in KEPT if name in order]] = 1
        # a child's change is a random amount, not a goal to reach: the first MIN_STEPS steps only, so a face whose
        # change cannot be reached (e.g. the flat face of z = 0) costs no more than the others
        return self.solve(start, amounts, held, max_steps=MIN_STEPS)[0]

    def cross(
        self, parents: np.ndarray, n: int, weights: Sequence[float] | None = None, seed: int | None = None
    ) -> Move:
        """n children of 2–8 parents by per-direction mixing: along each SeFa direction (an orthonormal basis of z)
        a child takes one parent's coordinate, chosen with probability ∝ `weights`; clipped into the box, and
        the share of each child lost to clipping reported."""
        parents = self.checked(parents)
        if parents.ndim != 2 or not 2 <= len(parents) <= MAX_PARENTS:
            raise ModelError(f"cross takes 2 to {MAX_PARENTS} parents")
        p = np.ones(len(parents)) if weights is None else np.asarray(weights, np.float64)
        if p.shape != (len(parents),) or not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
            raise ModelError("weights must be one non-negative number per parent, not all zero")
        basis = self.directions.sefa.astype(np.float64)
        coords = (parents - self.centre) @ basis.T  # parents × dim
        rng = np.random.default_rng(seed)
        pick = rng.choice(len(parents), size=(n, basis.shape[0]), p=p / p.sum())
        mixed = self.centre + coords[pick, np.arange(basis.shape[0])[None, :]] @ basis
        clipped = np.clip(mixed, self.low, self.high)
        spread = np.maximum(np.linalg.norm(mixed - self.centre, axis=1), 1e-12)
        lost = np.linalg.norm(mixed - clipped, axis=1) / spread
        saturated = ((mixed < self.low) | (mixed > self.high)).sum(axis=1)
        return Move(clipped.astype(np.float32), lost.astype(np.float32), saturated)
