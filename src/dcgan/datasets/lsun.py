"""LSUN's LMDB databases (CATEGORY_train_lmdb/data.mdb) → image files that `dcgan prepare` reads.

Each value is written as-is (no re-encoding) with the extension of its format (LSUN stores WebP; JPEG,
PNG, GIF and BMP are recognised too), as OUT/<first 2 characters of the key>/<key>.<ext>, so no folder
holds millions of files. Values in no known image format are counted, not written.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from tqdm import tqdm

from dcgan.atomic import atomic_dir
from dcgan.errors import DataError

SAFE_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


def image_format(data: bytes) -> str | None:
    """The file extension for image bytes by their magic number, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:2] == b"BM":
        return "bmp"
    return None


def _file_stem(key: bytes) -> str:
    text = key.decode("ascii", errors="replace")
    return text if SAFE_KEY.match(text) and not text.startswith(".") else key.hex()


def find_lmdb(path: Path) -> Path:
    """The folder holding data.mdb: `path` itself, its parent (path = data.mdb) or one folder below."""
    path = Path(path)
    if path.is_file() and path.name == "data.mdb":
        return path.parent
    if (path / "data.mdb").is_file():
        return path
    below = sorted(p.parent for p in path.glob("*/data.mdb")) if path.is_dir() else []
    if len(below) == 1:
        return below[0]
    raise DataError(f"no LMDB database (data.mdb) in {path}" + (f"; found several: {below}" if below else ""))


def export_lmdb(db: Path, out: Path, *, limit: int | None = None, progress: bool = True) -> dict:
    """Write the images of an LMDB into `out` (a staging folder that replaces it at the end); returns counts."""
    import lmdb

    if limit is not None and limit < 1:
        raise DataError(f"--limit must be >= 1, got {limit}")
    folder = find_lmdb(db)
    try:
        env = lmdb.open(str(folder), readonly=True, lock=False, readahead=False, max_readers=1, subdir=True)
    except lmdb.Error as exc:
        raise DataError(f"{folder} is not a readable LMDB database ({exc})") from None
    formats: Counter[str] = Counter()
    skipped: list[str] = []
    written = 0
    try:
        with atomic_dir(out) as staging, env, env.begin(buffers=False) as txn:
            entries = env.stat()["entries"]
            total = min(entries, limit) if limit else entries
            with tqdm(total=total, desc=f"export {folder.name}", unit="img", disable=not progress) as bar:
                for key, value in txn.cursor():
                    if limit and written >= limit:
                        break
                    ext = image_format(value)
                    if ext is None:
                        skipped.append(key.decode("ascii", errors="replace"))
                        continue
                    stem = _file_stem(key)
                    shard = staging / stem[:2]
                    shard.mkdir(exist_ok=True)
                    (shard / f"{stem}.{ext}").write_bytes(value)
                    formats[ext] += 1
                    written += 1
                    bar.update(1)
    except lmdb.Error as exc:
        raise DataError(f"reading {folder} failed ({exc})") from None
    return {
        "count": written,
        "entries": entries,
        "formats": dict(formats),
        "skipped_count": len(skipped),
        "skipped": skipped[:100],
        "limit": limit,
    }
