"""One atomic write for every file and folder the project produces.

A reader sees the old content or the new, never a half-written file: data goes to a temp name beside the
target, is flushed and fsynced, renamed over the target, and the directory entry is fsynced so the rename
survives a power cut. A failure leaves the target untouched and removes the temp.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


def fsync_dir(directory: Path) -> None:
    """Persist a directory's entries (a rename into it); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(directory: Path | str) -> int:
    """Remove the temps a killed writer left in `directory` (`.NAME.PID.tmp` of a process no longer alive; a
    SIGKILL between write and rename leaves one) and return how many; a live writer's temp is left alone."""
    removed = 0
    for temp in Path(directory).glob(".*.tmp"):
        pid = temp.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not _alive(int(pid)):
            temp.unlink(missing_ok=True)
            removed += 1
    return removed


@contextlib.contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temp path beside `path` to write to; on success it is fsynced and renamed onto `path`."""
    path = Path(path)
    tmp = _temp_beside(path)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def write_bytes_atomic(path: Path | str, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_npy_atomic(path: Path | str, array: Any) -> None:
    """A NumPy array as `.npy` (through a handle: `np.save` would add `.npy` to the temp's name)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.save(handle, np.asarray(array), allow_pickle=False)


def write_json_atomic(path: Path | str, data: Any) -> None:
    """Indented, key-sorted JSON with a final newline."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


@contextlib.contextmanager
def atomic_dir(out: Path | str) -> Iterator[Path]:
    """Yield an empty staging folder beside `out`; on success it replaces `out` (any old `out` is removed).

    A failure removes the staging folder and leaves `out` as it was.
    """
    out = Path(out)
    staging = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        yield staging
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.replace(old)
            staging.replace(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.replace(out)
        fsync_dir(out.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
