"""Run `dcgan.data.prepare` on part of a folder, or with a given train/val/test assignment.

`prepare` reads a whole folder and splits by a hash of the file name. To prepare a chosen list of files
(ImageNet classes) or to split by a published partition (CelebA's list_eval_partition.txt) without changing
it, these helpers build a folder of symbolic links to the chosen files (same relative names) beside the
output, run `prepare` on it, and write the real source into the manifests. The link folder has a fixed
path, so `prepare`'s fingerprint (and its "up to date, nothing to do") stays valid across runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dcgan.atomic import write_json_atomic
from dcgan.data import CACHE_FORMAT, SPLIT_NAMES, PrepareOptions, list_sources, prepare
from dcgan.errors import DataError


@contextlib.contextmanager
def _quiet() -> Iterator[io.StringIO]:
    """Collect what `prepare` prints to stdout (tqdm.write) instead of showing it."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        yield buffer


def link_folder(src: Path, names: Iterable[str], links: Path) -> int:
    """Make `links/<name>` a symbolic link to `src/<name>` for every name; returns the count."""
    src = Path(src).resolve()
    links = Path(links)
    shutil.rmtree(links, ignore_errors=True)
    links.mkdir(parents=True)
    count = 0
    for name in names:
        target = links / name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(src / name, target)
        count += 1
    return count


def _restamp(out: Path, src: Path, extra: Mapping | None) -> dict:
    """Point the manifests of a cache built from a link folder at the real source."""
    top = None
    for path in [out / "manifest.json", *(out / s / "manifest.json" for s in SPLIT_NAMES)]:
        if path.exists():
            manifest = json.loads(path.read_text())
            manifest.update({"source": str(Path(src).resolve()), **(extra or {})})
            write_json_atomic(path, manifest)
            top = manifest if path.parent == out else top
    return top or {}


def prepare_names(
    src: Path,
    names: list[str],
    out: Path,
    opts: PrepareOptions,
    *,
    split: str | None = None,
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
    extra: Mapping | None = None,
) -> dict:
    """`prepare` on just `names` (relative to `src`), with prepare's own --split; returns the manifest."""
    if not names:
        raise DataError(f"no image files selected in {src}")
    out = Path(out)
    links = out.with_name(f".{out.name}.links")
    try:
        link_folder(src, names, links)
        with _quiet() as said:  # prepare's closing line names the link folder: print it with the real source
            prepare(links, out, opts, split=split, seed=seed, workers=workers, progress=progress)
    finally:
        shutil.rmtree(links, ignore_errors=True)
    if progress and said.getvalue():
        tqdm.write(said.getvalue().rstrip("\n").replace(str(links), str(src)))
    return _restamp(out, src, extra)


def prepare_assigned(
    src: Path,
    assignment: Mapping[str, str],
    out: Path,
    opts: PrepareOptions,
    *,
    workers: int | None = None,
    progress: bool = True,
    extra: Mapping | None = None,
    skipped: list[dict] | None = None,
) -> dict:
    """Build out/{train,val,test} with the files each split is assigned (name → "train"/"val"/"test").

    The layout and manifests are those of `prepare(..., split=...)`. Built in a temp folder and renamed,
    and a no-op when the source files, the assignment and the options are unchanged.
    """
    src, out = Path(src), Path(out)
    bad = sorted({g for g in assignment.values() if g not in SPLIT_NAMES})
    if bad:
        raise DataError(f"unknown split name(s) {bad}; expected {SPLIT_NAMES}")
    if not assignment:
        raise DataError(f"no image files of {src} are assigned to a split")
    entries = [e for e in list_sources(src) if e[0] in assignment]
    key = hashlib.sha256(
        json.dumps(
            [str(src.resolve()), sorted(assignment.items()), entries, opts.__dict__, CACHE_FORMAT, "assigned-1"]
        ).encode()
    ).hexdigest()
    say = tqdm.write if progress else (lambda *_: None)
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text())
        except (OSError, json.JSONDecodeError):
            old = {}
        if old.get("fingerprint") == key:
            say(f"{out} is up to date with {src}; nothing to do")
            return old
    staging = out.with_name(f".{out.name}.tmp")
    links = out.with_name(f".{out.name}.links")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    channels = 1 if opts.grayscale else 3
    base = {
        "source": str(src.resolve()),
        "size": opts.size,
        "channels": channels,
        "crop": opts.crop,
        "format": CACHE_FORMAT,
    }
    counts, all_skipped = {}, list(skipped or [])
    try:
        for group in SPLIT_NAMES:
            names = sorted(n for n, g in assignment.items() if g == group)
            folder = staging / group
            if names:
                link_folder(src, names, links / group)
                with _quiet():  # keep the progress bar (stderr), drop the per-split line naming the temp folder
                    made = prepare(links / group, folder, opts, workers=workers, progress=progress)
                files, group_skipped = made["files"], made["skipped"]
            else:
                folder.mkdir()
                empty = np.lib.format.open_memmap(
                    folder / "images.npy", mode="w+", dtype=np.uint8, shape=(0, opts.size, opts.size, channels)
                )
                del empty
                files, group_skipped = [], []
            counts[group] = len(files)
            all_skipped.extend(group_skipped)
            write_json_atomic(
                folder / "manifest.json", {**base, "split": group, "count": len(files), "files": files, **(extra or {})}
            )
        reasons = Counter(s["reason"].split(":")[0].split("(")[0].strip() for s in all_skipped)
        manifest = {
            **base,
            "fingerprint": key,
            "split": "assigned",
            "split_seed": None,
            "count": sum(counts.values()),
            "counts": counts,
            "skipped_count": len(all_skipped),
            "skipped_by_reason": dict(reasons),
            "skipped": all_skipped,
            **(extra or {}),
        }
        write_json_atomic(staging / "manifest.json", manifest)
        if out.exists():
            shutil.rmtree(out)
        staging.replace(out)
    finally:
        shutil.rmtree(links, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    say(
        f"wrote {manifest['count']} images to {out} ({counts}); skipped {len(all_skipped)}"
        + (f": {dict(reasons)}" if all_skipped else "")
    )
    return manifest
