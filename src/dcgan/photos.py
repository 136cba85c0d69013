"""The photo step of GAN inversion: a user's photo (upload bytes) → one aligned face in the training framing.

`read_photo` decodes with the dataset rules (`dcgan.data.open_image`: pixel limit, first frame, EXIF
orientation, 16-bit, alpha on white), plus HEIC/HEIF when `pillow-heif` is installed (the `photo` extra).
`align_face` finds every face with MTCNN, picks one (the largest by default) and aligns it on the eyes
exactly as `dcgan faces` does at margin 0 (`dcgan.datasets.faces`). Everything a user can get wrong is a
`PhotoError` with a short machine-readable `reason`.
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from dcgan.data import MAX_PIXELS, open_image
from dcgan.datasets import faces as facelib
from dcgan.datasets.faces import Face, FaceDetector, FaceOptions
from dcgan.errors import DataError

MAX_PHOTO_BYTES = 20 * 1024 * 1024
DETECT_MAX_SIDE = FaceOptions.detect_max_side  # photos are scaled down to this longer side for detection
MIN_SCORE = FaceOptions.min_score  # weaker detections are not counted as faces
RETRY_PAD = 0.5  # an already-cropped face: retry on the photo grown by this share of its side on every side
RETRY_SIDE = 256  # … upscaled to at least this longer side

REASONS = (
    "too_large",  # more bytes than the cap
    "not_an_image",  # not in a format Pillow (or pillow-heif) reads
    "truncated",  # the file ends early
    "too_many_pixels",  # width × height over the decompression-bomb limit
    "unreadable",  # any other decoding failure: damaged data
    "no_face",
    "face_too_small",
    "bad_face_index",
)


class PhotoError(DataError):
    """A photo that cannot give a face; `reason` is one of `REASONS`, the message says it for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self):  # pickles whole (a process pool hands it back)
        return type(self), (self.reason, str(self))


@functools.cache
def _register_heif() -> bool:
    """Teach Pillow HEIC/HEIF if pillow-heif is installed (once); whether it is."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def read_photo(data: bytes, max_bytes: int = MAX_PHOTO_BYTES) -> np.ndarray:
    """An uploaded photo's bytes → H×W×3 uint8 RGB, upright, first frame; PhotoError if it cannot be."""
    if len(data) > max_bytes:
        raise PhotoError(
            "too_large", f"the photo is {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB"
        )
    _register_heif()
    try:
        image = open_image(bytes(data))
    except ValueError as exc:
        message = str(exc)
        if message.startswith("too large") or "decompression bomb" in message:
            limit = f"the limit is {MAX_PIXELS:,} ({MAX_PIXELS / 1e6:.0f} megapixels)"
            raise PhotoError("too_many_pixels", f"the photo has too many pixels; {limit}") from None
        if "not in a format" in message:
            raise PhotoError("not_an_image", "not an image (JPEG, PNG, WebP, GIF, BMP, TIFF or HEIC)") from None
        if "truncated" in message:
            raise PhotoError("truncated", "the photo is truncated: the file ends before the picture does") from None
        raise PhotoError("unreadable", f"cannot read the photo: {message.removeprefix('unreadable image: ')}") from None
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


@dataclass(frozen=True)
class AlignedFace:
    """One face of a photo, aligned in the training framing."""

    image: np.ndarray  # size×size×3 uint8
    index: int  # which of `faces` it is
    faces: list[dict] = field(default_factory=list)  # {"box": [x, y, w, h], "score"} in photo pixels, largest first
    padded: bool = False  # found only on the photo padded and upscaled (an already-cropped face)
    upscaled: bool = False  # the face had fewer pixels than the output: the crop is an enlargement
    outside: float = 0.0  # share of the crop beyond the photo, filled by repeating its edge pixels


_shared: facelib.MtcnnDetector | None = None
_shared_lock = threading.Lock()


def _detect(detector: FaceDetector | None, image: Image.Image) -> list[Face]:
    """Faces in `image` with a score of at least MIN_SCORE; with the shared MTCNN when no detector is given
    (built on first use; one call at a time, so server threads can share it)."""
    global _shared
    array = np.asarray(image)
    if detector is None:
        with _shared_lock:
            if _shared is None:
                _shared = facelib.MtcnnDetector()
            found = _shared.detect(array)
    else:
        found = detector.detect(array)
    return [f for f in found if f.score >= MIN_SCORE]


def detect_faces(photo: Image.Image, detector: FaceDetector | None = None) -> tuple[list[Face], bool]:
    """(every face of an RGB photo in its pixel coordinates, largest box first; whether it took the padded
    retry). Detection runs on a copy at most DETECT_MAX_SIDE on its longer side."""
    small, factor = facelib.detection_copy(photo, DETECT_MAX_SIDE)
    found = [f.scaled(1 / factor) for f in _detect(detector, small)]
    padded = False
    if not found:  # a face filling the frame: give MTCNN the context around it, and enough pixels
        px, py = round(small.width * RETRY_PAD), round(small.height * RETRY_PAD)
        grown = np.pad(np.asarray(small), ((py, py), (px, px), (0, 0)), mode="edge")
        side = max(grown.shape[:2])
        k = RETRY_SIDE / side if side < RETRY_SIDE else min(1.0, DETECT_MAX_SIDE / side)
        retry = Image.fromarray(grown)
        if k != 1.0:
            retry = retry.resize((round(grown.shape[1] * k), round(grown.shape[0] * k)), Image.Resampling.BICUBIC)
        found = [f.scaled(1 / k).shifted(-px, -py).scaled(1 / factor) for f in _detect(detector, retry)]
        padded = bool(found)
    return sorted(found, key=lambda f: -f.box[2] * f.box[3]), padded


def _render(photo: Image.Image, face: Face, size: int) -> tuple[Image.Image, float]:
    """`faces.align_face` on the part of the photo the crop needs, its edge repeated where the crop leaves it."""
    a, b, c, d, e, f = facelib.alignment(face.left_eye, face.right_eye, size)
    corners = [(x, y) for x in (0, size) for y in (0, size)]
    us = [a * x + b * y + c for x, y in corners]
    vs = [d * x + e * y + f for x, y in corners]
    x0, y0 = math.floor(min(us)) - 4, math.floor(min(vs)) - 4  # 4: room for the resampling filter
    x1, y1 = math.ceil(max(us)) + 4, math.ceil(max(vs)) + 4
    part = np.asarray(photo.crop((max(x0, 0), max(y0, 0), min(x1, photo.width), min(y1, photo.height))))
    pads = ((max(0, -y0), max(0, y1 - photo.height)), (max(0, -x0), max(0, x1 - photo.width)), (0, 0))
    region = Image.fromarray(np.pad(part, pads, mode="edge"))
    crop, _ = facelib.align_face(region, face.shifted(-x0, -y0), size)
    return crop, facelib.outside_fraction((a, b, c, d, e, f), size, photo.width, photo.height)


def align_face(
    photo: np.ndarray,
    size: int = 64,
    face: int | None = None,
    detector: FaceDetector | None = None,
    min_face: int = 24,
) -> AlignedFace:
    """Detect every face of an H×W×3 uint8 RGB photo and align one (`face`: its index, largest first; default
    the largest) to size×size in the training framing. PhotoError: no_face, bad_face_index, face_too_small."""
    photo = np.asarray(photo)
    if photo.ndim != 3 or photo.shape[2] != 3 or photo.dtype != np.uint8:
        raise ValueError(f"photo must be an H×W×3 uint8 array, got {photo.shape} {photo.dtype}")
    if not 8 <= size <= 1024:
        raise ValueError(f"size must be between 8 and 1024, got {size}")
    image = Image.fromarray(photo)
    found, padded = detect_faces(image, detector)
    if not found:
        raise PhotoError("no_face", "no face found in the photo; use one with a clear, upright, not too small face")
    index = 0 if face is None else face
    if not 0 <= index < len(found):
        n = len(found)
        which = "only face 0" if n == 1 else f"{n} faces, numbered 0 to {n - 1} from the largest"
        raise PhotoError("bad_face_index", f"there is no face {index}: the photo has {which}")
    chosen = found[index]
    width, height = chosen.box[2], chosen.box[3]
    if min(width, height) < min_face:
        raise PhotoError(
            "face_too_small",
            f"the face is {width:.0f}×{height:.0f} px; at least {min_face}×{min_face} px is needed"
            " (use a larger photo, or one taken closer)",
        )
    crop, outside = _render(image, chosen, size)
    eyes = math.dist(chosen.left_eye, chosen.right_eye)
    (x1, _), (x2, _) = facelib.eye_targets(size)
    return AlignedFace(
        image=np.asarray(crop, dtype=np.uint8),
        index=index,
        faces=[{"box": [round(v, 1) for v in f.box], "score": round(f.score, 4)} for f in found],
        padded=padded,
        upscaled=eyes < x2 - x1,
        outside=round(outside, 4),
    )
