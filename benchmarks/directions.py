"""What the named controls do, measured on fresh faces (the numbers issue #22 asks for).

    python benchmarks/directions.py [--model DIR] [--real DIR] [--faces 1000] [--lineages 50] [--generations 20]
                                    [--only Bald,Beard] [--judge DIR] [--linear] [--discovered-faces 1000]
                                    [--discovered-steps 0.58,2] [--extractor inception-fid] [--quick]

A count of 0 skips its section.

0. Calibration: on `--calibration-faces` fresh generated faces, the share the classifier calls positive before and
   after the calibration `dcgan controls fit` stored, next to its share among real faces (`--real`, if given).
1. Every named direction, on `--faces` prior z the fit never saw: one slider step toward the other side of the
   attribute (others held, the page's default). Reported: the share whose classifier call flips (goal ≥ 90%),
   the mean |change| of the other named attributes' probabilities (goal ≤ 0.10), and the share still the same
   person by dlib's face recognition (distance ≤ 0.6; goal ≥ 80%). Male changes who a face is by nature: it is
   listed apart. Age: mean change in years per step. "missed": the mean share of the asked change not reached.
   "flips men/women": the flip share among the faces the classifier called male / female before the step (an
   attribute the data ties to one sex, like Bald, can fail for the other). With `--judge DIR` (a second classifier,
   e.g. trained with another seed, calibrated the same way on generated faces): "judge before", the share of the
   unedited faces on which its call agrees with the classifier's, and "judge after", the share it calls on the
   asked side after the step. A solve that only fooled the classifier it optimizes would leave the judge's calls
   where they were.
   `--linear` measures the fitted boundaries' straight moves instead of the per-face edits the page uses.
2. "Make me a face that is …": for a few constraint sets, the share of returned faces meeting every constraint
   by the classifier (read again from the returned z) and the time per call of 8 faces (goal ≤ 1 s).
3. Breeding: `--lineages` lineages of `--generations` generations (each generation one child of the last, amount
   0.3), with and without the identity lock: the share whose last face is within 0.6 of the root.
4. A slider move as the page asks for it: one step of each named direction on one face at a time (`--repeats`
   fresh faces, toward the other side, others held), median and max seconds per edit after a first, untimed one.
5. The discovered directions the page shows (the first five), on `--discovered-faces` fresh faces, each face moved
   along one of them (in turn, up and down; others held): FID against `--real` (`--extractor`) of the faces as they
   are, one step away and at the slider's end (3 steps); the mean |change| of the named attributes' probabilities
   after one step; the share still the same person after one step. `--discovered-steps 0.58,2` measures other
   distances per step (z units) than the bundle's, to choose one.
Needs the `controls` extra (dlib). `--quick` is a smoke run of seconds on a tiny bundle, not a measurement.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np

from dcgan import resources
from dcgan.bundle import load_generator
from dcgan.controls.identity import SAME_PERSON, FaceIdentity
from dcgan.evaluation.extractors import get_extractor
from dcgan.evaluation.reference import reference_stats
from dcgan.evaluation.scoring import evaluate_images

IDENTITY_CHANGING = {"Male"}
SLIDER_END = 3  # the page's sliders span ±3 steps (web/src/controls.ts)
DISCOVERED_SHOWN = 5  # the discovered directions the page shows (web/src/controls.ts)
CONSTRAINTS = (
    {"Male": False, "Smiling": True, "Eyeglasses": True, "Age": [30, 40]},
    {"Male": True, "Beard": True, "Smiling": False},
    {"Blond_Hair": True, "Young": True, "Mouth_Slightly_Open": True},
    {"Male": True, "Bald": True},
)


def calibration_table(model, n: int, real: Path | None) -> None:
    from dcgan.controls.fit import real_faces
    from dcgan.controls.runtime import calibrate

    controls = model.controls
    raw = controls.classifier.predict(model.generate(model.sample_z(n, [11, 12], 1.0)))
    fixed = calibrate(raw, controls.directions.info["calibration"])
    real_calls = controls.classifier.predict(real_faces(real)) if real else None
    print(f"\n0. calibration on {n} fresh generated faces: share called positive")
    print(f"{'attribute':<22} {'raw':>7} {'calibrated':>11} {'real':>7}")
    for name in controls.directions.attributes:
        if name == "Age":
            continue
        real_share = f"{np.mean(real_calls[name] > 0.5):>7.1%}" if real_calls else ""
        print(f"{name:<22} {np.mean(raw[name] > 0.5):>7.1%} {np.mean(fixed[name] > 0.5):>11.1%} {real_share}")


class Judge:
    """A second attribute classifier, calibrated on this generator's faces to real faces' shares (as `dcgan
    controls fit` calibrates the first): an independent reading of what an edit did."""

    def __init__(self, path: Path, model, real: Path, n: int = 2000) -> None:
        from dcgan.controls.classifier import load_classifier
        from dcgan.controls.fit import fit_calibration, real_faces

        self.classifier = load_classifier(path)
        generated = model.generate(model.sample_z(n, [13, 12], 1.0))
        _, self.calibration = fit_calibration(self.classifier, generated, real_faces(real))

    def __call__(self, images: np.ndarray) -> dict[str, np.ndarray]:
        from dcgan.controls.runtime import calibrate

        return calibrate(self.classifier.predict(images), self.calibration)


def step_table(
    model, identity: FaceIdentity, n: int, seed: int, linear: bool, only: list[str] | None, judge: Judge | None
) -> None:
    controls = model.controls
    z = model.sample_z(n, [seed, 10], 1.0)
    before_images = model.generate(z)
    before = controls.attributes(before_images)
    before_ids = identity.embed(before_images)
    names = controls.directions.attributes
    print(f"\n1. one slider step on {n} fresh faces (others held; {'along the boundaries' if linear else 'per face'})")
    header = ("direction", "flips", "others |Δp|", "same person", "missed", "flips men/women")
    print("{:<22} {:>7} {:>12} {:>12} {:>7} {:>16}".format(*header) + (" judge before  after" if judge else ""))
    judged = judge(before_images) if judge else None
    men = before["Male"] > 0.5
    for name in names:
        if name == "Age" or (only and name not in only):
            continue
        positive = before[name] > 0.5
        moved, lost = np.empty_like(z), np.empty(n, np.float32)
        for side, amount in ((positive, -1.0), (~positive, 1.0)):
            if side.any():
                move = controls.edit(z[side], {name: amount}, refine=not linear)
                moved[side], lost[side] = move.z, move.lost
        images = model.generate(moved)
        after = controls.attributes(images)
        flipped = (after[name] > 0.5) != positive
        flips = np.mean(flipped)
        by_sex = f"{np.mean(flipped[men]):.1%} / {np.mean(flipped[~men]):.1%}" if men.any() and (~men).any() else ""
        others = np.mean([np.mean(np.abs(after[o] - before[o])) for o in names if o not in (name, "Age")])
        same = np.mean(identity.distance(identity.embed(images), before_ids) <= SAME_PERSON)
        agrees = ""
        if judge:
            agree_before = np.mean((judged[name] > 0.5) == positive)
            agree_after = np.mean((judge(images)[name] > 0.5) != positive)
            agrees = f" {agree_before:>12.1%} {agree_after:>6.1%}"
        label = name + (" (changes identity)" if name in IDENTITY_CHANGING else "")
        print(f"{label:<22} {flips:>7.1%} {others:>12.3f} {same:>12.1%} {np.mean(lost):>7.1%} {by_sex:>16}{agrees}")
    if only and "Age" not in only:
        return
    move = controls.edit(z, {"Age": 1.0}, refine=not linear)
    after = controls.attributes(model.generate(move.z))
    others = np.mean([np.mean(np.abs(after[o] - before[o])) for o in names if o != "Age"])
    print(f"{'Age (+1 step)':<22} {np.mean(after['Age'] - before['Age']):>+6.1f}y {others:>12.3f}")


def constrained_table(model, repeats: int, seed: int) -> None:
    print(f"\n2. make me a face that is … (8 faces a call, {repeats} calls each)")
    for constraints in CONSTRAINTS:
        times, met = [], []
        for r in range(repeats):
            start = time.perf_counter()
            found = model.sample_where(constraints, 8, seed=seed + r)
            times.append(time.perf_counter() - start)
            attrs = model.attributes(model.generate(found.z))
            met.append(np.mean(model.controls.meets(attrs, model.controls.check_constraints(constraints))))
        text = ", ".join(f"{k}={v}" for k, v in constraints.items())
        print(f"  {text:<58} met {np.mean(met):6.1%}  median {statistics.median(times):.2f} s, max {max(times):.2f} s")


def breeding_table(model, identity: FaceIdentity, lineages: int, generations: int, seed: int) -> None:
    print(f"\n3. breeding: {lineages} lineages × {generations} generations, amount 0.3")
    roots = model.sample_z(lineages, [seed, 11], 1.0)
    root_ids = identity.embed(model.generate(roots))
    for lock in (True, False):
        current = roots.copy()
        for g in range(generations):
            current = np.stack(
                [model.children(z, 1, 0.3, lock, seed=seed * 1000 + i * 100 + g)[0] for i, z in enumerate(current)]
            )
        distance = identity.distance(identity.embed(model.generate(current)), root_ids)
        print(
            f"  identity lock {'on ' if lock else 'off'}: {np.mean(distance <= SAME_PERSON):6.1%} within "
            f"{SAME_PERSON} of the root (median distance {np.median(distance):.3f})"
        )


def latency_table(model, repeats: int, seed: int) -> None:
    controls = model.controls
    z = model.sample_z(repeats, [seed, 12], 1.0)
    positive = {name: p > 0.5 for name, p in controls.attributes(model.generate(z)).items()}
    controls.edit(z[:1], {"Smiling": 1.0})  # the first edit traces the solve
    print(f"\n4. one slider step, one face at a time ({repeats} faces a direction, others held)")
    for name in controls.directions.attributes:
        times = []
        for i in range(repeats):
            amount = 1.0 if name == "Age" else (-1.0 if positive[name][i] else 1.0)
            start = time.perf_counter()
            controls.edit(z[i : i + 1], {name: amount})
            times.append(time.perf_counter() - start)
        print(f"  {name:<22} median {statistics.median(times):.2f} s, max {max(times):.2f} s")


def discovered_table(
    model, identity: FaceIdentity, n: int, seed: int, real: Path, extractor: str, distances: list[float]
) -> None:
    controls = model.controls
    names = [c["name"] for c in controls.directions.controls() if c["kind"] == "sefa"][:DISCOVERED_SHOWN]
    bundle_step = controls.directions.control(names[0])["step"]
    z = model.sample_z(n, [seed, 50], 1.0)
    which, sign = np.arange(n) % len(names), np.where(np.arange(n) // len(names) % 2, -1.0, 1.0)
    features = get_extractor(extractor)
    reference = reference_stats(real, features)
    before_images = model.generate(z)
    before, before_ids = controls.attributes(before_images), identity.embed(before_images)

    def fid(images: np.ndarray) -> float:
        return evaluate_images(images, reference, features, pr_k=None)["fid"]

    def moved(distance: float, steps: float) -> tuple[np.ndarray, float]:
        out, lost = np.empty_like(z), np.empty(n, np.float32)
        held = controls.directions.attributes  # what `edit` holds for a discovered move; `linear` is its path
        for i, name in enumerate(names):
            for s in (-1.0, 1.0):
                rows = (which == i) & (sign == s)
                move = controls.linear(z[rows], {name: s * steps * distance / bundle_step}, held)
                out[rows], lost[rows] = move.z, move.lost
        return model.generate(out), float(np.mean(lost))

    print(
        f"\n5. the {len(names)} discovered directions the page shows, on {n} fresh faces ({extractor} FID vs {real}; "
        f"as they are: {fid(before_images):.2f})"
    )
    header = ("z per step", "FID 1 step", f"FID {SLIDER_END} steps", "attrs |Δp|", "same person", "missed")
    print("{:<14} {:>10} {:>12} {:>10} {:>12} {:>7}".format(*header))
    for distance in distances or [bundle_step]:
        one, lost = moved(distance, 1.0)
        after = controls.attributes(one)
        change = np.mean([np.mean(np.abs(after[a] - before[a])) for a in controls.directions.attributes if a != "Age"])
        same = np.mean(identity.distance(identity.embed(one), before_ids) <= SAME_PERSON)
        end, _ = moved(distance, SLIDER_END)
        label = f"{distance:.3f}" + (" (bundle)" if np.isclose(distance, bundle_step, atol=5e-4) else "")
        print(f"{label:<14} {fid(one):>10.2f} {fid(end):>12.2f} {change:>10.3f} {same:>12.1%} {lost:>7.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--calibration-faces", type=int, default=2000)
    parser.add_argument("--real", type=Path, default=None, help="a prepared cache of real faces, for section 0")
    parser.add_argument("--faces", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--lineages", type=int, default=50)
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default="", help="section 1 for these comma-separated directions only")
    parser.add_argument("--judge", type=Path, default=None, help="a second classifier's folder (needs --real)")
    parser.add_argument("--linear", action="store_true", help="the boundaries' straight moves (no per-face solve)")
    parser.add_argument("--discovered-faces", type=int, default=1000, help="section 5's faces (needs --real)")
    parser.add_argument("--discovered-steps", default="", help="section 5: z distances per step to compare")
    parser.add_argument("--extractor", default="inception-fid", help="section 5's FID features")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.calibration_faces, args.faces, args.repeats, args.lineages, args.generations = 16, 4, 1, 2, 2
        args.discovered_faces, args.extractor = 20, "pixels"
    model = load_generator(args.model or resources.default_model())
    identity = FaceIdentity()
    print(f"model {model.model_dir}; directions fitted {model.controls.directions.info['fit']['date']}")
    if args.calibration_faces:
        calibration_table(model, args.calibration_faces, args.real)
    if args.faces:
        only = [name for name in args.only.split(",") if name]
        if unknown := set(only) - set(model.controls.directions.attributes):
            parser.error(f"unknown directions {sorted(unknown)}")
        if args.judge and not args.real:
            parser.error("--judge is calibrated on real faces: give --real too")
        judge = Judge(args.judge, model, args.real) if args.judge else None
        step_table(model, identity, args.faces, args.seed, args.linear, only, judge)
    if args.repeats:
        constrained_table(model, args.repeats, args.seed)
    if args.lineages:
        breeding_table(model, identity, args.lineages, args.generations, args.seed)
    if args.repeats:
        latency_table(model, args.repeats, args.seed)
    if args.discovered_faces and args.real:
        distances = [float(d) for d in args.discovered_steps.split(",") if d]
        discovered_table(model, identity, args.discovered_faces, args.seed, args.real, args.extractor, distances)


if __name__ == "__main__":
    main()
