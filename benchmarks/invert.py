"""Photo inversion, measured (the numbers issue #23 asks for).

    python benchmarks/invert.py [--model DIR] [--data DIR] [--faces 200] [--methods random,...] [--photos N]
                                [--quick]

1. Reconstruction of `--faces` faces of `--data` (default: the test split of data/celeba-usual64, CelebA ids above
   `--min-id`, 10,000 by default: the shipped model was trained on ids up to 10,000 and the encoder on the train
   split, so neither saw these faces or their people). Per method: mean PSNR, SSIM, the discriminator-feature
   distance the solver uses, the share still the same person by dlib's face recognition (distance ≤ 0.6 between
   the face and its reconstruction) and the time per face at batch 1. Methods (`--methods`, all by default): the
   best of 2,048 random z by pixel distance (`random`), plain pixel optimization (Adam, lr 0.05) from a random z
   for 300 steps (`pixel`), the encoder alone (`encoder`), and the encoder with the solver (the shipped default,
   `default`, and with `--more-steps`, `more`). Goal: PSNR ≥ 24 dB, SSIM ≥ 0.75 with z inside the box.
2. End to end, the way `dcgan invert` and the server do it: `--photos` real photos of
   ../shared/datasets/raw-samples/celeba-crops-varsize-200.tar, each decoded, its face found and aligned (MTCNN),
   and inverted, one at a time: median and p95 seconds a photo (goal ≤ 2 s here).
Needs the `datasets` and `controls` extras. `--quick` is a smoke run of seconds on a tiny bundle, not a measurement.
"""

from __future__ import annotations

import argparse
import statistics
import tarfile
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from dcgan import resources
from dcgan.bundle import load_generator
from dcgan.data import Cache
from dcgan.evaluation.reconstruction import psnr, ssim
from dcgan.inversion.refine import STEPS, Solver

RANDOM_CANDIDATES = 2048
PIXEL_STEPS, PIXEL_LR = 300, 0.05
PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "raw-samples" / "celeba-crops-varsize-200.tar"


def test_faces(data: Path, n: int, min_id: int) -> np.ndarray:
    cache = Cache.open(data)
    files = cache.manifest.get("files", [])
    keep = [i for i, name in enumerate(files) if Path(name).stem.isdigit() and int(Path(name).stem) > min_id]
    if not files:  # no names: take the first faces
        keep = list(range(len(cache.images)))
    return np.asarray(cache.images[keep[:n]])


def best_random(model, targets: np.ndarray) -> np.ndarray:
    z = model.sample_z(RANDOM_CANDIDATES, seed=7, truncation=1.0)
    faces = model.generate(z).reshape(RANDOM_CANDIDATES, -1).astype(np.float32)
    flat = targets.reshape(len(targets), -1).astype(np.float32)
    distance = (flat**2).sum(1)[:, None] - 2 * flat @ faces.T + (faces**2).sum(1)[None]
    return z[np.argmin(distance, axis=1)]


def pixel_optimization(model, targets: np.ndarray, steps: int) -> np.ndarray:
    contract = model.z_contract
    solver = Solver(model.generator, model.inverter.features, contract["low"], contract["high"], PIXEL_LR, 0.0)
    start = model.sample_z(len(targets), seed=8, truncation=1.0)
    return solver.solve(start, targets.astype(np.float32) / 127.5 - 1.0, steps)


def row(name: str, model, targets: np.ndarray, z: np.ndarray, seconds: float, identity) -> str:
    faces = model.generate(z)
    scaled = [tf.constant(x.astype(np.float32) / 127.5 - 1.0) for x in (faces, targets)]
    perceptual = model.inverter.features.distance(*scaled).numpy()
    same = "     -"
    if identity is not None:
        same = f"{np.mean(identity.distance(identity.embed(faces), identity.embed(targets)) <= 0.6):6.1%}"
    inside = np.all((z >= model.z_contract["low"]) & (z <= model.z_contract["high"]))
    return (
        f"{name:<34} {np.mean(psnr(faces, targets)):7.2f} {np.mean(ssim(faces, targets)):6.3f} "
        f"{np.mean(perceptual):8.3f} {same} {seconds:8.3f}  {'yes' if inside else 'NO'}"
    )


def per_face_seconds(fn, targets: np.ndarray, n: int) -> float:
    """Median seconds of `fn` on one face at a time (after one warm-up call)."""
    fn(targets[:1])
    times = []
    for i in range(min(n, len(targets))):
        began = time.perf_counter()
        fn(targets[i : i + 1])
        times.append(time.perf_counter() - began)
    return statistics.median(times)


METHODS = ("random", "pixel", "encoder", "default", "more")


def reconstruction_table(
    model, targets: np.ndarray, more_steps: int, timed: int, identity, only: tuple[str, ...] = METHODS
) -> None:
    inverter = model.inverter
    print(f"{len(targets)} faces; seconds: median per face at batch 1 over {timed} faces")
    print(f"{'method':<34} {'PSNR':>7} {'SSIM':>6} {'D-dist':>8} {'same':>6} {'s/face':>8}  in box")
    methods = {
        "random": (f"best of {RANDOM_CANDIDATES} random z", lambda x: best_random(model, x)),
        "pixel": (f"pixel Adam, random start, {PIXEL_STEPS} st", lambda x: pixel_optimization(model, x, PIXEL_STEPS)),
        "encoder": ("encoder alone", lambda x: inverter.invert(x, 0).z),
        "default": (f"encoder + solver, {STEPS} steps (default)", lambda x: inverter.invert(x).z),
        "more": (f"encoder + solver, {more_steps} steps", lambda x: inverter.invert(x, more_steps).z),
    }
    for name, fn in (methods[key] for key in only):
        z = np.concatenate([fn(targets[i : i + 50]) for i in range(0, len(targets), 50)])
        print(row(name, model, targets, z, per_face_seconds(fn, targets, timed), identity), flush=True)


def end_to_end(model, n: int) -> None:
    from dcgan.photos import PhotoError, align_face, read_photo

    with tarfile.open(PHOTOS) as tar:
        members = [m for m in tar.getmembers() if m.isfile()][: n + 1]
        photos = [tar.extractfile(m).read() for m in members]
    times, skipped, scores = [], 0, []
    for i, data in enumerate(photos):
        began = time.perf_counter()
        try:
            face = align_face(read_photo(data), model.image_shape[0]).image
        except PhotoError:
            skipped += 1
            continue
        result = model.inverter.invert(face)
        if i:  # the first photo warms up the detector
            times.append(time.perf_counter() - began)
            scores.append((result.scores["psnr"][0], result.scores["ssim"][0]))
    times.sort()
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
    print(
        f"end to end, {len(times)} photos of {PHOTOS.name} ({skipped} with no face found): median "
        f"{statistics.median(times):.2f} s, p95 {p95:.2f} s a photo; vs its aligned crop PSNR "
        f"{np.mean([s[0] for s in scores]):.2f} dB, SSIM {np.mean([s[1] for s in scores]):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a bundle with an encoder (default: the shipped model)")
    parser.add_argument("--data", type=Path, default=Path("data/celeba-usual64/test"))
    parser.add_argument("--faces", type=int, default=200, help="test faces reconstructed (0: skip the table)")
    parser.add_argument("--min-id", type=int, default=10_000, help="only CelebA ids above this (unseen in training)")
    parser.add_argument("--more-steps", type=int, default=200)
    parser.add_argument("--timed", type=int, default=10, help="faces timed one at a time per method")
    parser.add_argument("--photos", type=int, default=30, help="raw photos for the end-to-end timing (0: skip)")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help=f"the table's rows, comma-separated, of {', '.join(METHODS)}"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: a few faces, no dlib, no photos")
    args = parser.parse_args()
    only = tuple(m for m in args.methods.split(",") if m)
    if unknown := sorted(set(only) - set(METHODS)):
        parser.error(f"unknown --methods {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    model = load_generator(args.model or resources.default_model())
    if args.quick:
        global PIXEL_STEPS
        PIXEL_STEPS = 3
        targets = test_faces(args.data, 4, -1)
        reconstruction_table(model, targets, 3, 1, None, only)
        return
    from dcgan.controls.identity import FaceIdentity

    if args.faces:
        targets = test_faces(args.data, args.faces, args.min_id)
        reconstruction_table(model, targets, args.more_steps, args.timed, FaceIdentity(), only)
    if args.photos:
        end_to_end(model, args.photos)


if __name__ == "__main__":
    main()
