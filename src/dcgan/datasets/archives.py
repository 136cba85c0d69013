"""Safe extraction of zip, tar (any compression) and single-file gzip archives.

Every member is checked before anything is written: no absolute paths, no `..` that leaves the
destination, no links that point out of it (zip symlinks are refused outright), no devices or fifos.
Members are extracted into a hidden staging folder inside the destination and moved into place only
when the whole archive went well, and a marker file records a finished extraction so a re-run skips it.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from dcgan.atomic import write_json_atomic
from dcgan.errors import DataError

COPY_CHUNK = 1 << 20


class UnsafeArchiveError(DataError):
    """An archive member would land outside the destination folder."""


def _safe_relative(name: str, archive: Path) -> PurePosixPath:
    """The member path as a relative path that stays inside the destination, or UnsafeArchiveError."""
    clean = name.replace("\\", "/")
    path = PurePosixPath(clean)
    if (clean.startswith("/") or (len(clean) > 1 and clean[1] == ":")) or path.is_absolute():
        raise UnsafeArchiveError(f"{archive.name}: refusing member {name!r} with an absolute path")
    parts = [p for p in path.parts if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeArchiveError(f"{archive.name}: refusing member {name!r}: its path leaves the destination")
    if not parts:
        raise UnsafeArchiveError(f"{archive.name}: refusing member with an empty name {name!r}")
    return PurePosixPath(*parts)


def _inside(base: Path, target: Path) -> bool:
    base, target = os.path.realpath(base), os.path.realpath(target)
    return target == base or target.startswith(base + os.sep)


def kind_of(archive: Path) -> str:
    archive = Path(archive)
    if zipfile.is_zipfile(archive):
        return "zip"
    if tarfile.is_tarfile(archive):
        return "tar"
    with open(archive, "rb") as f:
        if f.read(2) == b"\x1f\x8b":
            return "gz"
    raise DataError(f"{archive} is not a zip, tar or gzip archive")


def check_members(archive: Path) -> tuple[str, int]:
    """Validate every member; returns (kind, total uncompressed bytes) or raises UnsafeArchiveError."""
    archive = Path(archive)
    kind = kind_of(archive)
    total = 0
    if kind == "zip":
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                _safe_relative(info.filename, archive)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise UnsafeArchiveError(f"{archive.name}: refusing symbolic link member {info.filename!r}")
                total += info.file_size
    elif kind == "tar":
        with tarfile.open(archive) as tar:
            for member in tar:
                rel = _safe_relative(member.name, archive)
                if member.issym() or member.islnk():
                    # a symlink is relative to its own folder; a hard link names a path from the archive root
                    link = PurePosixPath(member.linkname.replace("\\", "/"))
                    start = rel.parent if member.issym() else PurePosixPath()
                    if link.is_absolute() or _escapes(start / link):
                        raise UnsafeArchiveError(
                            f"{archive.name}: refusing link {member.name!r} → "
                            f"{member.linkname!r}: it points out of the destination"
                        )
                elif not (member.isfile() or member.isdir()):
                    raise UnsafeArchiveError(
                        f"{archive.name}: refusing special member {member.name!r} (device, fifo or unknown type)"
                    )
                total += member.size
    return kind, total


def _escapes(path: PurePosixPath) -> bool:
    depth = 0
    for part in path.parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def _gz_target(archive: Path) -> str:
    return archive.name[:-3] if archive.name.endswith(".gz") else archive.name + ".out"


def extract(archive: Path, dest: Path, *, progress: bool = True) -> list[Path]:
    """Extract `archive` into `dest` safely; returns the top-level paths it created (or had created before)."""
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    marker = dest / f".{archive.name}.extracted"
    stamp = {"archive": archive.name, "size": archive.stat().st_size, "mtime": int(archive.stat().st_mtime)}
    if marker.exists():
        try:
            recorded = json.loads(marker.read_text())
        except (OSError, json.JSONDecodeError):
            recorded = {}
        if {k: recorded.get(k) for k in stamp} == stamp and all((dest / t).exists() for t in recorded["top"]):
            return [dest / t for t in recorded["top"]]
    kind, total = check_members(archive)
    free = shutil.disk_usage(dest).free
    if total > free:
        raise DataError(
            f"extracting {archive.name} needs {total / 2**30:.1f} GiB but {dest} has {free / 2**30:.1f} GiB free"
        )
    staging = dest / f".{archive.name}.extracting"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        if kind == "zip":
            _extract_zip(archive, staging, progress)
        elif kind == "tar":
            with tarfile.open(archive) as tar:
                members = tar.getmembers()
                for member in tqdm(
                    members, desc=f"extract {archive.name}", unit="file", disable=not progress, leave=False
                ):
                    tar.extract(member, staging, filter="data")
        else:
            with gzip.open(archive, "rb") as src, open(staging / _gz_target(archive), "wb") as out:
                shutil.copyfileobj(src, out, COPY_CHUNK)
        top = sorted(p.name for p in staging.iterdir())
        for name in top:
            target = dest / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            (staging / name).replace(target)
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, gzip.BadGzipFile) as exc:
        raise DataError(f"{archive.name} could not be extracted ({exc}); is it complete?") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    write_json_atomic(marker, {**stamp, "top": top})
    return [dest / t for t in top]


def _extract_zip(archive: Path, staging: Path, progress: bool) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in tqdm(zf.infolist(), desc=f"extract {archive.name}", unit="file", disable=not progress, leave=False):
            target = staging / _safe_relative(info.filename, archive)
            if not _inside(staging, target):
                raise UnsafeArchiveError(f"{archive.name}: refusing member {info.filename!r}")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, COPY_CHUNK)
