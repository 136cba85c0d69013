"""Face builder: raw photos → aligned, cropped, deduplicated face images plus a manifest.

For every photo: detect every face (`FaceDetector`, MTCNN by default), align it on the two eyes with a
similarity transform (rotation so the eyes are level, scale to a fixed eye distance, eyes placed at a fixed
position), crop with an optional margin, resize, and write it. Faces below a size or detector score,
crops reaching too far outside the photo, near-duplicates (perceptual hash) and files that are not
readable images are skipped and counted by reason.

The framing matches the shipped model's training faces (`data/celeba-usual64`: the centred 112-pixel square
of CelebA's aligned 178×218 images; `dcgan.datasets.celeba`'s 108-pixel crop is 4% tighter): measured with
MTCNN on 1,000 aligned CelebA images the eyes sit, on average, at (0.326, 0.527) and (0.677, 0.527) of that
square, and re-aligning 200 of them best reproduces the dataset's 64×64 faces (mean absolute difference)
with the eyes 0.35–0.36 of the side apart at a height of 0.53. With margin M the output is that square
grown by M of its side on every side (the face gets smaller).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image
from tqdm import tqdm

from dcgan.atomic import atomic_dir, write_json_atomic
from dcgan.crawl.ledger import load_provenance
from dcgan.data import IMAGE_SUFFIXES, NOT_AN_IMAGE, count_reasons, is_image_name, iter_bytes, list_sources, open_image
from dcgan.errors import ConfigError, DataError

EYE_TEMPLATE = ((0.3225, 0.53), (0.6775, 0.53))  # (x, y) of the image-left and image-right eye, fractions of the side
MANIFEST = "faces.json"
FORMATS = {"png": "PNG", "jpg": "JPEG"}


Point = tuple[float, float]


@dataclass(frozen=True)
class Face:
    """One detected face, in pixel coordinates of the image given to the detector."""

    box: tuple[float, float, float, float]  # x, y, width, height
    score: float
    left_eye: Point  # the eye on the image's left (the person's right eye)
    right_eye: Point
    landmarks: dict[str, Point] = field(default_factory=dict)  # any others: nose, mouth_left, mouth_right

    def scaled(self, factor: float) -> Face:
        def s(p: Point) -> Point:
            return (p[0] * factor, p[1] * factor)

        return Face(
            tuple(v * factor for v in self.box),
            self.score,
            s(self.left_eye),
            s(self.right_eye),
            {k: s(v) for k, v in self.landmarks.items()},
        )

    def shifted(self, dx: float, dy: float) -> Face:
        def s(p: Point) -> Point:
            return (p[0] + dx, p[1] + dy)

        x, y, w, h = self.box
        return Face(
            (x + dx, y + dy, w, h),
            self.score,
            s(self.left_eye),
            s(self.right_eye),
            {k: s(v) for k, v in self.landmarks.items()},
        )


@runtime_checkable
class FaceDetector(Protocol):
    """Anything that finds faces with both eyes in an H×W×3 uint8 RGB array."""

    def detect(self, image: np.ndarray) -> list[Face]: ...


class MtcnnDetector:
    """MTCNN 1.x (weights ship in the wheel, runs on TensorFlow, offline). Loaded on first use."""

    def __init__(self, min_face_size: int = 20, threads: int | None = None) -> None:
        self.min_face_size = min_face_size
        self.threads = threads
        self._model = None

    def _load(self):
        if self._model is None:
            import tensorflow as tf

            if self.threads:
                try:
                    tf.config.threading.set_intra_op_parallelism_threads(self.threads)
                    tf.config.threading.set_inter_op_parallelism_threads(self.threads)
                except RuntimeError:  # TensorFlow already started in this process: keep its setting
                    pass
            try:
                from mtcnn import MTCNN
            except ImportError:
                raise ConfigError("finding faces needs MTCNN: pip install -e '.[photo]'") from None
            self._model = MTCNN()
        return self._model

    def detect(self, image: np.ndarray) -> list[Face]:
        image = np.ascontiguousarray(image, dtype=np.uint8)
        if image.ndim != 3 or image.shape[2] != 3 or min(image.shape[:2]) < 12:
            return []
        results = self._load().detect_faces(image, min_face_size=self.min_face_size)
        faces = []
        for r in results or []:
            points = {k: (float(v[0]), float(v[1])) for k, v in r.get("keypoints", {}).items()}
            if "left_eye" not in points or "right_eye" not in points:
                continue
            left, right = sorted((points.pop("left_eye"), points.pop("right_eye")))
            faces.append(Face(tuple(float(v) for v in r["box"]), float(r["confidence"]), left, right, points))
        return faces


@dataclass(frozen=True)
class FaceOptions:
    size: int = 64
    margin: float = 0.0  # grow the CelebA-framed square by this fraction of its side on every side
    min_face: int = 40  # skip faces whose detector box is narrower or shorter than this (source pixels)
    min_score: float = 0.9  # skip detections with a lower score
    dup_distance: int = 4  # skip a crop whose 64-bit pHash is within this Hamming distance of a kept one; -1: off
    image_format: str = "png"  # png, or jpg (quality 95)
    max_outside: float = 0.1  # skip a crop when more than this fraction of it falls outside the photo
    detect_max_side: int = 1024  # photos are scaled down to this longer side for detection only

    def validate(self) -> None:
        if not 8 <= self.size <= 1024:
            raise DataError(f"--size must be between 8 and 1024, got {self.size}")
        if not 0 <= self.margin <= 2:
            raise DataError(f"--margin must be between 0 and 2, got {self.margin}")
        if not 0 <= self.min_score <= 1:
            raise DataError(f"--min-score must be between 0 and 1, got {self.min_score}")
        if self.min_face < 0:
            raise DataError(f"--min-face must be >= 0, got {self.min_face}")
        if self.image_format not in FORMATS:
            raise DataError(f"--format must be one of {', '.join(FORMATS)}, got {self.image_format!r}")
        if not 0 <= self.max_outside <= 1:
            raise DataError(f"--max-outside must be between 0 and 1, got {self.max_outside}")
        if self.detect_max_side < 64:
            raise DataError(f"detect_max_side must be >= 64, got {self.detect_max_side}")


def eye_targets(size: int, margin: float = 0.0) -> tuple[Point, Point]:
    """Where the image-left and image-right eye land in the size×size output (continuous coordinates)."""
    core = size / (1 + 2 * margin)
    offset = margin * core
    (x1, y1), (x2, y2) = EYE_TEMPLATE
    return (offset + x1 * core, offset + y1 * core), (offset + x2 * core, offset + y2 * core)


def alignment(left_eye: Point, right_eye: Point, size: int, margin: float = 0.0) -> tuple[float, ...]:
    """The affine (a, b, c, d, e, f) mapping output (x, y) to input (a x + b y + c, d x + e y + f).

    A similarity transform: it takes the eye targets to the given eyes (pixel-index coordinates, whose
    continuous position is +0.5), so the eyes come out level, at a fixed distance and place.
    """
    (q1x, q1y), (q2x, q2y) = eye_targets(size, margin)
    p1x, p1y = left_eye[0] + 0.5, left_eye[1] + 0.5
    p2x, p2y = right_eye[0] + 0.5, right_eye[1] + 0.5
    distance = math.hypot(p2x - p1x, p2y - p1y)
    if distance < 1e-6:
        raise ValueError("the two eyes are at the same point")
    scale = distance / math.hypot(q2x - q1x, q2y - q1y)
    angle = math.atan2(p2y - p1y, p2x - p1x) - math.atan2(q2y - q1y, q2x - q1x)
    a, d = scale * math.cos(angle), scale * math.sin(angle)
    b, e = -d, a
    return a, b, p1x - a * q1x - b * q1y, d, e, p1y - d * q1x - e * q1y


def outside_fraction(matrix: tuple[float, ...], size: int, width: int, height: int, samples: int = 24) -> float:
    """The share of the output square whose source falls outside the width×height photo."""
    a, b, c, d, e, f = matrix
    grid = (np.arange(samples) + 0.5) * size / samples
    xs, ys = np.meshgrid(grid, grid)
    u, v = a * xs + b * ys + c, d * xs + e * ys + f
    return float(np.mean((u < 0) | (v < 0) | (u > width) | (v > height)))


def align_face(image: Image.Image, face: Face, size: int, margin: float = 0.0) -> tuple[Image.Image, float]:
    """(aligned size×size crop, fraction of it outside the photo); rendered larger and scaled down when the
    face is bigger than the output, so no aliasing."""
    matrix = alignment(face.left_eye, face.right_eye, size, margin)
    scale = math.hypot(matrix[0], matrix[3])  # input pixels per output pixel
    k = int(min(4, max(1, math.ceil(scale))))
    a, b, c, d, e, f = matrix
    big = image.transform(
        (size * k, size * k),
        Image.Transform.AFFINE,
        (a / k, b / k, c, d / k, e / k, f),
        resample=Image.Resampling.BICUBIC,
        fillcolor=(0, 0, 0),
    )
    crop = big if k == 1 else big.resize((size, size), Image.Resampling.LANCZOS)
    return crop, outside_fraction(matrix, size, image.width, image.height)


def detection_copy(image: Image.Image, max_side: int) -> tuple[Image.Image, float]:
    """(the image scaled down to `max_side` on its longer side for detection, the factor); as is when smaller."""
    factor = min(1.0, max_side / max(image.size))
    if factor == 1.0:
        return image, factor
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.BILINEAR), factor


def load_rgb(data: bytes) -> Image.Image:
    """Decode a whole photo to RGB with `prepare`'s rules; ValueError with a reason."""
    return open_image(data).convert("RGB")


def _phash(image: Image.Image) -> int:
    import imagehash

    return int(str(imagehash.phash(image)), 16)


def _stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", Path(name).stem)[:40] or "face"


def crawl_source(crawl_record: dict) -> dict:
    """A crawled photo's provenance, carried into each of its faces."""
    keys = ("url", "page_url", "fetched_at", "status", "license", "sha256")
    return {key: crawl_record.get(key) for key in keys}


def build_faces(
    src: Path,
    out: Path,
    opts: FaceOptions | None = None,
    detector: FaceDetector | None = None,
    *,
    force: bool = False,
    progress: bool = True,
) -> dict:
    """Write aligned face crops of every photo under `src` (folder or tar) to `out`, with out/faces.json.

    The output is built in a hidden temp folder and renamed at the end, so `out` is whole or untouched. When
    `src` holds a `crawl.json` (`dcgan crawl`), only the images it lists are read and each face record gets
    its photo's provenance under "source" (URL, page, time, HTTP status, licence hint).
    Returns the manifest.
    """
    opts = opts or FaceOptions()
    opts.validate()
    src, out = Path(src), Path(out)
    listed = [entry[0] for entry in list_sources(src)]
    crawled = load_provenance(src)  # a `dcgan crawl` folder: its images only, each face traced to its page
    if crawled is not None:
        listed = [name for name in listed if name in crawled]
    names = [name for name in listed if is_image_name(name)]
    skipped = [{"file": name, "reason": NOT_AN_IMAGE} for name in listed if not is_image_name(name)]
    if not names:
        raise DataError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {src}")
    if out.exists() and any(out.iterdir()) and not force:
        raise DataError(f"{out} already exists and is not empty; use --force to replace it")
    detector = MtcnnDetector() if detector is None else detector
    ext = opts.image_format
    faces: list[dict] = []
    hashes: list[int] = []
    found = photos = 0
    say = tqdm.write if progress else (lambda *_: None)
    with atomic_dir(out) as staging:
        for index, (name, data) in enumerate(
            tqdm(iter_bytes(src, names), total=len(names), desc="faces", unit="photo", disable=not progress)
        ):
            try:
                if isinstance(data, str):  # iter_bytes could not read the file; data is the reason
                    raise ValueError(data)
                image = load_rgb(data)
            except ValueError as exc:
                skipped.append({"file": name, "reason": str(exc)})
                continue
            photos += 1
            small, factor = detection_copy(image, opts.detect_max_side)
            try:
                detected = detector.detect(np.asarray(small))
            except Exception as exc:  # a detector failure on one photo must not stop the whole run
                skipped.append({"file": name, "reason": f"detector failed: {type(exc).__name__}: {exc}"})
                continue
            if not detected:
                skipped.append({"file": name, "reason": "no face found"})
                continue
            detected = sorted((f.scaled(1 / factor) for f in detected), key=lambda f: (f.box[0], f.box[1]))
            for k, face in enumerate(detected):
                found += 1
                record = {
                    **({"source": crawl_source(crawled[name])} if crawled else {}),
                    "file": name,
                    "face": k,
                    "box": [round(v, 1) for v in face.box],
                    "score": round(face.score, 4),
                    "landmarks": {
                        "left_eye": [round(v, 1) for v in face.left_eye],
                        "right_eye": [round(v, 1) for v in face.right_eye],
                        **{key: [round(v, 1) for v in p] for key, p in face.landmarks.items()},
                    },
                }
                if face.score < opts.min_score:
                    skipped.append({**record, "reason": f"low detector score ({face.score:.3f} < {opts.min_score})"})
                    continue
                if min(face.box[2], face.box[3]) < opts.min_face:
                    skipped.append(
                        {**record, "reason": f"face too small ({min(face.box[2:]):.0f} px < {opts.min_face})"}
                    )
                    continue
                try:
                    crop, outside = align_face(image, face, opts.size, opts.margin)
                except ValueError as exc:
                    skipped.append({**record, "reason": f"cannot align: {exc}"})
                    continue
                if outside > opts.max_outside:
                    skipped.append(
                        {**record, "reason": f"crop outside the photo ({outside:.0%} > {opts.max_outside:.0%})"}
                    )
                    continue
                digest = _phash(crop)
                if opts.dup_distance >= 0 and hashes:
                    distances = np.bitwise_count(np.asarray(hashes, dtype=np.uint64) ^ np.uint64(digest))
                    nearest = int(np.argmin(distances))
                    if distances[nearest] <= opts.dup_distance:
                        skipped.append(
                            {
                                **record,
                                "reason": f"near-duplicate (pHash distance "
                                f"{int(distances[nearest])} of "
                                f"{faces[nearest]['output']})",
                            }
                        )
                        continue
                output = f"{index:06d}_{_stem(name)}_{k}.{ext}"
                if ext == "jpg":
                    crop.save(staging / output, format="JPEG", quality=95)
                else:
                    crop.save(staging / output, format="PNG")
                hashes.append(digest)
                faces.append(
                    {
                        **record,
                        "output": output,
                        "phash": f"{digest:016x}",
                        "roll_degrees": round(
                            math.degrees(
                                math.atan2(face.right_eye[1] - face.left_eye[1], face.right_eye[0] - face.left_eye[0])
                            ),
                            2,
                        ),
                    }
                )
        manifest = {
            "source": str(src.resolve()),
            "options": asdict(opts),
            "eye_template": [list(p) for p in EYE_TEMPLATE],
            "detector": type(detector).__name__,
            "counts": {
                "files": len(listed),
                "photos": photos,
                "faces_found": found,
                "faces_written": len(faces),
            },
            "skipped_by_reason": count_reasons(skipped),
            "skipped": skipped,
            "faces": faces,
        }
        write_json_atomic(staging / MANIFEST, manifest)
    say(
        f"faces: {photos} photos, {found} faces found, {len(faces)} written to {out}; skipped by reason: "
        f"{manifest['skipped_by_reason'] or 'none'}"
    )
    return manifest
