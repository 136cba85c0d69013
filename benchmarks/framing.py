"""Where do the faces of two folders sit? Mean landmarks of each, and the scale and shift from one to the other.

    python benchmarks/framing.py data/raw/celeba-usual data/raw/celeba-wide --faces 300

For each folder, `--faces` images drawn at random (seeded) are enlarged to 256 px on their longer side for the
detector (MTCNN, `dcgan.datasets.faces`, misses faces of 40 px) and the most confident face's five landmarks
(eyes, nose, mouth corners) are read back in the image's own pixels. Prints their means and spreads, then the
scale s and shift t that take the first folder's mean landmarks to the second's (least squares, no rotation:
CelebA's faces are aligned), and where the first folder's frame lies in the second's images: the rows and
columns outside them are what a re-framing of the second folder into the first one's framing would have to
invent. Needs the `photo` extra.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np

import dcgan  # noqa: F401  (sets TensorFlow's oneDNN / logging defaults before TF loads)

DETECT_SIDE = 256
POINTS = ("left eye", "right eye", "nose", "mouth left", "mouth right")


def landmarks(folder: Path, faces: int, seed: int, detector) -> tuple[np.ndarray, tuple[int, int], int]:
    """(n×5×2 landmarks in continuous pixel coordinates of the folder's most common image size, that size as
    (width, height), images without a face). Images of other sizes are measured in fractions of their own."""
    from collections import Counter

    from PIL import Image

    from dcgan.data import is_image_name

    files = sorted(p for p in folder.iterdir() if is_image_name(p.name))
    random.Random(seed).shuffle(files)
    found, sizes, missed = [], Counter(), 0
    for path in files[:faces]:
        image = Image.open(path).convert("RGB")
        sizes[image.size] += 1
        k = DETECT_SIDE / max(image.size)
        big = image.resize((round(image.width * k), round(image.height * k)), Image.Resampling.BICUBIC)
        detected = detector.detect(np.asarray(big))
        if not detected:
            missed += 1
            continue
        face = max(detected, key=lambda f: f.score)
        points = [face.left_eye, face.right_eye, *(face.landmarks[n] for n in ("nose", "mouth_left", "mouth_right"))]
        found.append((np.asarray(points) + 0.5) / k / image.size)  # pixel index → continuous, as fractions
    if not found:
        raise SystemExit(f"no face found in {folder}")
    frame = sizes.most_common(1)[0][0]
    return np.asarray(found) * frame, frame, missed


def similarity(a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    """Scale s and shift t minimising Σ |s·a + t − b|² over matched points (k×2 each)."""
    da, db = a - a.mean(0), b - b.mean(0)
    s = float((da * db).sum() / (da * da).sum())
    return s, b.mean(0) - s * a.mean(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path, help="a folder of face images (the framing to keep)")
    parser.add_argument("second", type=Path, help="another folder of face images")
    parser.add_argument("--faces", type=int, default=300, help="images read from each folder (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from dcgan.datasets.faces import MtcnnDetector

    detector = MtcnnDetector()
    means, frames = [], []
    for folder in (args.first, args.second):
        points, frame, missed = landmarks(folder, args.faces, args.seed, detector)
        means.append(points.mean(0))
        frames.append(frame)
        print(f"{folder}: {len(points)} faces ({missed} images without one), in px of {frame[0]}×{frame[1]}")
        for name, mean, spread in zip(POINTS, points.mean(0), points.std(0), strict=True):
            print(f"  {name:<12} x {mean[0]:6.2f} ± {spread[0]:4.2f}   y {mean[1]:6.2f} ± {spread[1]:4.2f}")
    s, t = similarity(*means)
    (w1, h1), (w2, h2) = frames
    x0, y0, x1, y1 = t[0], t[1], t[0] + s * w1, t[1] + s * h1
    print(f"second ≈ {s:.3f} · first + ({t[0]:+.2f}, {t[1]:+.2f}) px (eye distance {s:.3f} times the first's)")
    print(f"the first's {w1}×{h1} frame in the second's images: x {x0:.1f} to {x1:.1f}, y {y0:.1f} to {y1:.1f}")
    outside = {"top": -y0, "bottom": y1 - h2, "left": -x0, "right": x1 - w2}
    print("outside the second's images: " + ", ".join(f"{max(0.0, v):.1f} px at the {k}" for k, v in outside.items()))


if __name__ == "__main__":
    main()
