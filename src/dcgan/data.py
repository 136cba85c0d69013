"""Image folders (or tar archives) → a uint8 array cache with a manifest, and reading it back."""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import shutil
import tarfile
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from dcgan.atomic import write_json_atomic
from dcgan.errors import DataError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
MAX_PIXELS = 89_478_485  # Pillow's default decompression-bomb limit, made an error rather than a warning
SPLIT_NAMES = ("train", "val", "test")
CACHE_FORMAT = 1


@dataclass(frozen=True)
class PrepareOptions:
    size: int = 64
    crop: str = "center"  # "center": centre square; "celeba": the DCGAN CelebA box; "none": whole image
    grayscale: bool = False


def list_sources(src: Path) -> list[tuple[str, int, int]]:
    """(relative name, size, mtime) of every candidate image under a folder or inside a tar."""
    src = Path(src)
    if not src.exists():
        raise DataError(f"source {src} does not exist")
    if src.is_file():
        if not tarfile.is_tarfile(src):
            raise DataError(f"source {src} is a file but not a tar archive; give a folder of images or a .tar")
        with tarfile.open(src) as tar:
            return sorted((m.name, m.size, int(m.mtime)) for m in tar if m.isfile())
    entries = []
    for root, _dirs, files in os.walk(src):
        for name in files:
            path = Path(root, name)
            try:
                stat = path.stat()
            except OSError:  # a dangling symlink, or a file removed while listing: iter_bytes reports it
                entries.append((path.relative_to(src).as_posix(), -1, 0))
                continue
            entries.append((path.relative_to(src).as_posix(), stat.st_size, int(stat.st_mtime)))
    return sorted(entries)


def iter_bytes(src: Path, names: list[str]) -> Iterator[tuple[str, bytes]]:
    """(name, raw bytes) for each name, read from a folder or streamed from a tar."""
    if Path(src).is_file():
        wanted = set(names)
        with tarfile.open(src) as tar:
            for member in tar:
                if member.name in wanted:
                    yield member.name, tar.extractfile(member).read()
    else:
        for name in names:
            try:
                yield name, Path(src, name).read_bytes()
            except OSError as exc:  # unreadable (permissions, I/O error, dangling link): a reason, not bytes
                yield name, f"unreadable file: {exc.strerror or exc}"


def open_image(data: bytes) -> Image.Image:
    """Decode one image with the cache's rules: decompression-bomb limit, first frame, EXIF orientation,
    16-bit scaled to 8, transparency composited on white. Raises ValueError with a reason."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                raise ValueError(f"too large ({image.width}×{image.height} pixels)")
            image.seek(0)  # first frame of an animation
            image.load()
        except (OSError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ValueError(f"unreadable image: {exc}") from None
    with contextlib.suppress(OSError, ValueError, SyntaxError, KeyError):  # broken EXIF: keep pixels as stored
        image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        image = Image.fromarray(np.uint8(255 * (array - array.min()) / max(np.ptp(array), 1e-9)))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return image


def decode(data: bytes, opts: PrepareOptions) -> np.ndarray:
    """Decode, normalise mode, crop and resize one image; raises ValueError with a reason."""
    image = open_image(data)
    image = image.convert("L" if opts.grayscale else "RGB")
    if opts.crop == "center":
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    elif opts.crop == "celeba":  # DCGAN CelebA framing: centred square of 108/178 of the width, (35, 55) on 178×218
        side = min(round(image.width * 108 / 178), image.width, image.height)
        left, top = round((image.width - side) / 2), round((image.height - side) / 2)
        image = image.crop((left, top, left + side, top + side))
    image = image.resize((opts.size, opts.size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array


def _decode_job(job: tuple[str, bytes, PrepareOptions]) -> tuple[str, np.ndarray | None, str | None]:
    name, data, opts = job
    if isinstance(data, str):  # iter_bytes could not read the file; data is the reason
        return name, None, data
    try:
        return name, decode(data, opts), None
    except ValueError as exc:
        return name, None, str(exc)


def decode_all(
    items: Iterator[tuple[str, bytes]], opts: PrepareOptions, workers: int | None = None, chunk: int = 1024
) -> Iterator[tuple[str, np.ndarray | None, str | None]]:
    """Decode (name, bytes) pairs on every core, in order, holding at most `chunk` files in memory."""
    context = multiprocessing.get_context("spawn")  # safe even when TensorFlow is already loaded
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count(), mp_context=context) as pool:
        while batch := [(name, data, opts) for name, data in itertools.islice(items, chunk)]:
            yield from pool.map(_decode_job, batch, chunksize=32)


def split_of(name: str, fractions: tuple[float, float, float], seed: int) -> str:
    """Assign a file to train/val/test from a hash of (seed, name): stable when files are added."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for split, fraction in zip(SPLIT_NAMES, fractions, strict=True):
        edge += fraction
        if u < edge:
            return split
    return SPLIT_NAMES[-1]


def parse_split(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise DataError(f"--split must be three numbers like 0.9,0.05,0.05, got {text!r}") from None
    if len(parts) != 3 or min(parts) < 0 or abs(sum(parts) - 1) > 1e-6 or parts[0] == 0:
        raise DataError(f"--split must be three non-negative fractions summing to 1 (train > 0), got {text!r}")
    return parts  # type: ignore[return-value]


def fingerprint(src: Path, entries: list[tuple[str, int, int]], opts: PrepareOptions, split: str, seed: int) -> str:
    payload = json.dumps([str(Path(src).resolve()), entries, opts.__dict__, split, seed, CACHE_FORMAT])
    return hashlib.sha256(payload.encode()).hexdigest()


def prepare(
    src: Path,
    out: Path,
    opts: PrepareOptions,
    split: str | None = None,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
) -> dict:
    """Build the cache at `out` (or `out/{train,val,test}` with `split`); a no-op if up to date.

    Returns the top-level manifest. Unreadable files are skipped and counted by reason.
    """
    src, out = Path(src), Path(out)
    entries = list_sources(src)
    candidates = [e for e in entries if Path(e[0]).suffix.lower() in IMAGE_SUFFIXES]
    not_images = [e[0] for e in entries if Path(e[0]).suffix.lower() not in IMAGE_SUFFIXES]
    if not candidates:
        raise DataError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {src}")
    print_ = tqdm.write if progress else (lambda *_: None)
    key = fingerprint(src, entries, opts, split or "", seed)
    manifest_path = out / "manifest.json"
    if manifest_path.exists() and json.loads(manifest_path.read_text()).get("fingerprint") == key:
        print_(f"{out} is up to date with {src}; nothing to do")
        return json.loads(manifest_path.read_text())

    fractions = parse_split(split) if split else None
    names = [e[0] for e in candidates]
    assignment = {n: split_of(n, fractions, seed) if fractions else "all" for n in names}
    groups = SPLIT_NAMES if fractions else ("all",)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        channels = 1 if opts.grayscale else 3
        arrays, counts = {}, {}
        for group in groups:
            n = sum(1 for v in assignment.values() if v == group)
            folder = tmp if group == "all" else tmp / group
            folder.mkdir(exist_ok=True)
            arrays[group] = np.lib.format.open_memmap(
                folder / "images.npy", mode="w+", dtype=np.uint8, shape=(n, opts.size, opts.size, channels)
            )
            counts[group] = 0
        files: dict[str, list[str]] = {g: [] for g in groups}
        skipped: list[dict] = [{"file": n, "reason": "not an image file (by extension)"} for n in not_images]
        results = decode_all(iter_bytes(src, names), opts, workers)
        for name, array, error in tqdm(results, total=len(names), desc="prepare", unit="img", disable=not progress):
            if error:
                skipped.append({"file": name, "reason": error})
                continue
            group = assignment[name]
            arrays[group][counts[group]] = array
            counts[group] += 1
            files[group].append(name)

        base = {
            "source": str(src.resolve()),
            "size": opts.size,
            "channels": channels,
            "crop": opts.crop,
            "format": CACHE_FORMAT,
        }
        for group in groups:
            arrays[group].flush()
            del arrays[group]
            folder = tmp if group == "all" else tmp / group
            _truncate(folder / "images.npy", counts[group])
            write_json_atomic(
                folder / "manifest.json", {**base, "split": group, "count": counts[group], "files": files[group]}
            )
        reasons = Counter(_reason_kind(s["reason"]) for s in skipped)
        manifest = {
            **base,
            "fingerprint": key,
            "split": split,
            "split_seed": seed,
            "count": sum(counts.values()),
            "counts": counts,
            "skipped_count": len(skipped),
            "skipped_by_reason": dict(reasons),
            "skipped": skipped,
        }
        if not fractions:
            manifest["files"] = files["all"]
        write_json_atomic(tmp / "manifest.json", manifest)
        if out.exists():
            shutil.rmtree(out)
        tmp.replace(out)
    except BaseException:  # an error or Ctrl-C halfway: leave no half-written temp folder
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print_(
        f"wrote {manifest['count']} images to {out} ({counts}); skipped {len(skipped)}"
        + (f": {dict(reasons)}" if skipped else "")
    )
    return manifest


def _reason_kind(reason: str) -> str:
    return reason.split(":")[0].split("(")[0].strip()


def _truncate(path: Path, count: int) -> None:
    """Rewrite a .npy whose first `count` rows are valid (skipped files leave unused rows)."""
    array = np.load(path, mmap_mode="r")
    if count == len(array):
        return
    fixed = np.lib.format.open_memmap(
        path.with_suffix(".trim.npy"), mode="w+", dtype=np.uint8, shape=(count, *array.shape[1:])
    )
    fixed[:] = array[:count]
    fixed.flush()
    del fixed, array
    path.with_suffix(".trim.npy").replace(path)


@dataclass
class Cache:
    """A prepared image cache: uint8 N×H×W×C images (memory-mapped) and their manifest."""

    path: Path
    images: np.ndarray
    manifest: dict

    @classmethod
    def open(cls, path: Path) -> Cache:
        path = Path(path)
        if not (path / "images.npy").exists():
            hint = ""
            if (path / "train" / "images.npy").exists():
                hint = f"; this is a split cache, use {path / 'train'}"
            raise DataError(
                f"no prepared cache at {path} (missing images.npy){hint}; run `dcgan prepare SRC --out {path}` first"
            )
        images = np.load(path / "images.npy", mmap_mode="r", allow_pickle=False)
        manifest_path = path / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        if images.ndim != 4 or images.dtype != np.uint8:
            raise DataError(f"cache {path} holds {images.dtype} {images.shape}, expected uint8 N×H×W×C")
        if len(images) == 0:
            raise DataError(f"cache {path} is empty (0 images)")
        return cls(path, images, manifest)

    def check_shape(self, size: int, channels: int) -> None:
        _, h, w, c = self.images.shape
        if (h, w, c) != (size, size, channels):
            raise DataError(
                f"cache {self.path} holds {h}×{w}×{c} images but the model expects "
                f"{size}×{size}×{channels}; re-run prepare with --size {size}"
                + (" --grayscale" if channels == 1 else "")
                + " or change the model config"
            )


class BatchSource:
    """Deterministic batches: batch k is a pure function of (seed, k), so a resumed run sees the same data."""

    def __init__(self, images: np.ndarray, batch_size: int, seed: int, flip: bool) -> None:
        if len(images) < batch_size:
            raise DataError(f"the cache holds {len(images)} images, fewer than one batch of {batch_size}")
        self.images = images
        self.batch_size = batch_size
        self.seed = seed
        self.flip = flip
        self.steps_per_epoch = len(images) // batch_size
        self._perm_epoch = -1
        self._perm = np.empty(0, dtype=np.int64)

    def batch(self, step: int) -> np.ndarray:
        epoch, offset = divmod(step, self.steps_per_epoch)
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.images))
            self._perm_epoch = epoch
        index = np.sort(self._perm[offset * self.batch_size : (offset + 1) * self.batch_size])
        batch = self.images[index]
        if self.flip:
            mask = np.random.default_rng([self.seed, epoch, offset, 1]).random(len(batch)) < 0.5
            batch[mask] = batch[mask, :, ::-1]
        return batch
