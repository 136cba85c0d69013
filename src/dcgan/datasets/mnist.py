"""MNIST's four IDX files → a folder of 32×32 grayscale PNGs that `dcgan prepare` reads unchanged.

Layout written: OUT/train/<digit>/<index:05d>.png (60,000 files) and OUT/test/<digit>/<index:05d>.png
(10,000 files). Each 28×28 digit is padded with 2 black pixels on every side to 32×32 (the smallest model
size), not rescaled, so `dcgan prepare OUT/train --out data/mnist32 --size 32 --grayscale --crop none`
stores the exact pixels.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from dcgan.atomic import atomic_dir
from dcgan.errors import DataError

IDX_TYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
PAD = 2


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into an array; DataError if it is not one."""
    path = Path(path)
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path} could not be read as gzip ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_TYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number)")
    ndim = data[3]
    if len(data) < 4 + 4 * ndim:
        raise DataError(f"{path} is not an IDX file (header cut short)")
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    dtype = np.dtype(IDX_TYPES[data[2]])
    count = int(np.prod(shape)) if shape else 1
    body = data[4 + 4 * ndim :]
    if len(body) != count * dtype.itemsize:
        raise DataError(f"{path}: header says {shape} but the file holds {len(body)} bytes of data")
    return np.frombuffer(body, dtype=dtype).reshape(shape)


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    """Write a uint8 array as an IDX file (used by tests and to make small MNIST-like sets)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    payload = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    path = Path(path)
    if compress:
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


def load_split(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images_name, labels_name = FILES[split]
    images, labels = read_idx(Path(folder) / images_name), read_idx(Path(folder) / labels_name)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"MNIST {split}: images {images.shape} and labels {labels.shape} do not match")
    return images, labels


def export_pngs(folder: Path, out: Path, *, pad: int = PAD, progress: bool = True) -> dict[str, int]:
    """Write OUT/{train,test}/<digit>/<index>.png from the four IDX files in `folder`; returns counts.

    Written to a staging folder that replaces OUT at the end, so OUT is whole or as it was.
    """
    counts = {}
    with atomic_dir(out) as staging:
        for split in FILES:
            images, labels = load_split(folder, split)
            for digit in np.unique(labels):
                (staging / split / str(int(digit))).mkdir(parents=True, exist_ok=True)
            for i in tqdm(range(len(images)), desc=f"mnist {split}", unit="img", disable=not progress, leave=False):
                image = np.pad(images[i], pad) if pad else images[i]
                Image.fromarray(image).save(staging / split / str(int(labels[i])) / f"{i:05d}.png", compress_level=1)
            counts[split] = len(images)
    return counts
