"""Image folders (or tar archives) → a uint8 array cache with a manifest, and reading it back.

`prepare` follows an `Assignment` (`dcgan.splits`): which cache, train/val/test or the single one, each
source file goes to.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import tarfile
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from dcgan.atomic import atomic_dir, atomic_path, write_json_atomic
from dcgan.errors import DataError
from dcgan.splits import SINGLE, Assignment, Skip, by_hash

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
MAX_PIXELS = 89_478_485  # Pillow's default decompression-bomb limit, made an error rather than a warning
CACHE_FORMAT = 1
NOT_AN_IMAGE = "not an image file (by extension)"


@dataclass(frozen=True)
class PrepareOptions:
    size: int = 64
    crop: str = "center"  # "center": centre square; "celeba": the DCGAN CelebA box; "none": whole image
    grayscale: bool = False


def list_sources(src: Path, only: Iterable[str] | None = None) -> list[tuple[str, int, int]]:
    """(relative name, size, mtime) of every file under a folder or inside a tar, sorted by name.

    `only` limits the listing to these relative names (a folder is then not walked).
    """
    src = Path(src)
    if not src.exists():
        raise DataError(f"source {src} does not exist")
    wanted = None if only is None else set(only)
    if src.is_file():
        if not tarfile.is_tarfile(src):
            raise DataError(f"source {src} is a file but not a tar archive; give a folder of images or a .tar")
        with tarfile.open(src) as tar:
            return sorted(
                (m.name, m.size, int(m.mtime)) for m in tar if m.isfile() and (wanted is None or m.name in wanted)
            )
    if wanted is None:
        wanted = {Path(root, n).relative_to(src).as_posix() for root, _dirs, files in os.walk(src) for n in files}
    entries = []
    for name in wanted:
        try:
            stat = Path(src, name).stat()
        except OSError:  # a dangling symlink, or a file removed while listing: iter_bytes reports it
            entries.append((name, -1, 0))
            continue
        entries.append((name, stat.st_size, int(stat.st_mtime)))
    return sorted(entries)


def iter_bytes(src: Path, names: list[str]) -> Iterator[tuple[str, bytes | str]]:
    """(name, raw bytes) for each name, read from a folder or streamed from a tar; for a file that cannot be
    read, (name, the reason as a str)."""
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
        except Image.UnidentifiedImageError:  # its message names a memory address: not reproducible
            raise ValueError("unreadable image: not in a format Pillow can read") from None
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


def _decode_job(job: tuple[str, bytes | str, PrepareOptions]) -> tuple[str, np.ndarray | None, str | None]:
    name, data, opts = job
    if isinstance(data, str):  # iter_bytes could not read the file; data is the reason
        return name, None, data
    try:
        return name, decode(data, opts), None
    except ValueError as exc:
        return name, None, str(exc)


def decode_all(
    items: Iterator[tuple[str, bytes | str]], opts: PrepareOptions, workers: int | None = None, chunk: int = 1024
) -> Iterator[tuple[str, np.ndarray | None, str | None]]:
    """Decode (name, bytes) pairs on every core, in order, holding at most `chunk` files in memory."""
    context = multiprocessing.get_context("spawn")  # safe even when TensorFlow is already loaded
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count(), mp_context=context) as pool:
        while batch := [(name, data, opts) for name, data in itertools.islice(items, chunk)]:
            yield from pool.map(_decode_job, batch, chunksize=32)


def is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_SUFFIXES


def count_reasons(skipped: list[dict]) -> dict[str, int]:
    """How many skipped files of each kind of reason ("unreadable image: …" counts as "unreadable image")."""
    return dict(Counter(s["reason"].split(":")[0].split("(")[0].strip() for s in skipped))


def _placement_key(placement: str | Skip) -> str:
    return f"skip: {placement.reason}" if isinstance(placement, Skip) else placement


def fingerprint(src: Path, entries: list[tuple], opts: PrepareOptions, assignment: Assignment) -> str:
    """What a cache was built from: the source files (with size, mtime and placement), options and assignment."""
    record = [assignment.split, assignment.seed, dict(assignment.facts)]
    payload = json.dumps([str(Path(src).resolve()), entries, opts.__dict__, record, CACHE_FORMAT], default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def carried_sources(src: Path) -> dict[str, dict]:
    """file → where it came from, for a folder made by `dcgan faces` (faces.json records with a `source`) or by
    `dcgan crawl` (crawl.json); `prepare` carries it into its manifests, so each image traces back to its page."""
    from dcgan.datasets.faces import MANIFEST, crawl_source

    src = Path(src)
    if not src.is_dir():
        return {}
    try:
        faces = json.loads((src / MANIFEST).read_text())["faces"]
    except (OSError, ValueError, KeyError, TypeError):
        from dcgan.crawl.ledger import load_provenance

        return {name: crawl_source(record) for name, record in (load_provenance(src) or {}).items()}
    return {f["output"]: f["source"] for f in faces if isinstance(f, dict) and "output" in f and "source" in f}


def prepare(
    src: Path,
    out: Path,
    opts: PrepareOptions,
    assignment: Assignment | None = None,
    *,
    split: str | None = None,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
) -> dict:
    """Build the cache at `out` (or `out/{train,val,test}`) following `assignment`; a no-op if up to date.

    Without an assignment, `split` and `seed` give `by_hash(split, seed)`: one cache, or a split by a hash
    of each file name. Files that are not images (by extension) or cannot be decoded are skipped and counted
    by reason, as are those the assignment skips. Built in a staging folder that replaces `out` at the end.
    Returns the top-level manifest.
    """
    src, out = Path(src), Path(out)
    if assignment is None:
        assignment = by_hash(split, seed)
    elif split is not None:
        raise TypeError("give prepare an assignment or a split, not both")
    entries, names, skipped = [], [], []
    for name, size, mtime in list_sources(src, assignment.files):
        placement = assignment(name)
        if placement is None:
            continue
        entries.append((name, size, mtime, _placement_key(placement)))
        if not is_image_name(name):
            skipped.append({"file": name, "reason": NOT_AN_IMAGE})
        elif isinstance(placement, Skip):
            skipped.append({"file": name, "reason": placement.reason})
        elif placement not in assignment.caches:
            raise DataError(f"{name} is assigned to {placement!r}; expected one of {', '.join(assignment.caches)}")
        else:
            names.append(name)
    if not names:
        if not any(is_image_name(e[0]) for e in entries):
            raise DataError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {src}")
        raise DataError(f"none of the images in {src} is assigned to a cache (skipped: {count_reasons(skipped)})")
    say = tqdm.write if progress else (lambda *_: None)
    key = fingerprint(src, entries, opts, assignment)
    with contextlib.suppress(OSError, json.JSONDecodeError):
        old = json.loads((out / "manifest.json").read_text())
        if old.get("fingerprint") == key:
            say(f"{out} is up to date with {src}; nothing to do")
            return old

    placements = {e[0]: e[3] for e in entries}
    sources = carried_sources(src)

    def traced(kept: list[str]) -> dict:
        found = {name: sources[name] for name in kept if name in sources}
        return {"sources": found} if found else {}

    base = {
        "source": str(src.resolve()),
        "size": opts.size,
        "channels": 1 if opts.grayscale else 3,
        "crop": opts.crop,
        "format": CACHE_FORMAT,
        **assignment.facts,
    }
    with atomic_dir(out) as staging:
        folders = {c: staging if c == SINGLE else staging / c for c in assignment.caches}
        arrays = {}
        for cache, folder in folders.items():
            folder.mkdir(exist_ok=True)
            n = sum(1 for name in names if placements[name] == cache)
            shape = (n, opts.size, opts.size, base["channels"])
            arrays[cache] = np.lib.format.open_memmap(folder / "images.npy", mode="w+", dtype=np.uint8, shape=shape)
        files: dict[str, list[str]] = {c: [] for c in assignment.caches}
        results = decode_all(iter_bytes(src, names), opts, workers)
        for name, array, error in tqdm(results, total=len(names), desc="prepare", unit="img", disable=not progress):
            if error:
                skipped.append({"file": name, "reason": error})
                continue
            cache = placements[name]
            arrays[cache][len(files[cache])] = array
            files[cache].append(name)
        counts = {cache: len(kept) for cache, kept in files.items()}
        for cache, folder in folders.items():
            arrays[cache].flush()
            del arrays[cache]
            _truncate(folder / "images.npy", counts[cache])
            if cache != SINGLE:
                write_json_atomic(
                    folder / "manifest.json",
                    {**base, "split": cache, "count": counts[cache], "files": files[cache], **traced(files[cache])},
                )
        manifest = {
            **base,
            "fingerprint": key,
            "split": assignment.split,
            "split_seed": assignment.seed,
            "count": sum(counts.values()),
            "counts": counts,
            "skipped_count": len(skipped),
            "skipped_by_reason": count_reasons(skipped),
            "skipped": skipped,
        }
        if SINGLE in files:
            manifest["files"] = files[SINGLE]
            manifest.update(traced(files[SINGLE]))
        write_json_atomic(staging / "manifest.json", manifest)
    say(
        f"wrote {manifest['count']} images to {out} ({counts}); skipped {len(skipped)}"
        + (f": {manifest['skipped_by_reason']}" if skipped else "")
    )
    return manifest


def _truncate(path: Path, count: int) -> None:
    """Rewrite a .npy whose first `count` rows are valid (skipped files leave unused rows)."""
    array = np.load(path, mmap_mode="r")
    if count == len(array):
        return
    with atomic_path(path) as tmp:
        fixed = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(count, *array.shape[1:]))
        fixed[:] = array[:count]
        fixed.flush()
        del fixed, array


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
            if (path / "train" / "images.npy").exists():
                advice = f"this is a split cache: use {path / 'train'}"
            elif path.is_dir() and any(is_image_name(f.name) for f in path.iterdir()):
                out = Path("data") / path.name
                advice = f"it holds images: run `dcgan prepare {path} --out {out}` first, then use {out}"
            else:
                advice = f"run `dcgan prepare SRC --out {path}` first"
            raise DataError(f"no prepared cache at {path} (missing images.npy); {advice}")
        images = np.load(path / "images.npy", mmap_mode="r", allow_pickle=False)
        manifest_path = path / "manifest.json"
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        if images.ndim != 4 or images.dtype != np.uint8:
            raise DataError(f"cache {path} holds {images.dtype} {images.shape}, expected uint8 N×H×W×C")
        if len(images) == 0:
            raise DataError(f"cache {path} is empty (0 images)")
        return cls(path, images, manifest)

    def model_shape(self) -> dict[str, int]:
        """The Config fields of a model for these images (`image_size`, `channels`); empty when no model size fits
        them, so the default stays and `check_shape` says how to re-prepare."""
        from dcgan.config import SIZES

        _, h, w, c = self.images.shape
        return {"image_size": h, "channels": c} if h == w and h in SIZES and c in (1, 3) else {}

    def check_shape(self, size: int, channels: int) -> None:
        _, h, w, c = self.images.shape
        if (h, w, c) != (size, size, channels):
            raise DataError(
                f"cache {self.path} holds {h}×{w}×{c} images but the model expects "
                f"{size}×{size}×{channels}; re-run prepare with --size {size}"
                + (" --grayscale" if channels == 1 else "")
                + (f" or train at its size (--image-size {h})" if h == w else "")
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
