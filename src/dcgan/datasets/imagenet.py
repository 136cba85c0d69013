"""ImageNet from disk (it cannot be downloaded without an account): train/<wnid>/*.JPEG → a prepared cache.

SRC may be the ImageNet root (holding train/), the train folder itself, or any folder of class folders.
`by_classes` builds the assignment of the wanted classes' images for `dcgan.data.prepare`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from dcgan.data import IMAGE_SUFFIXES
from dcgan.errors import DataError
from dcgan.splits import Assignment, by_hash

WNID = re.compile(r"^n\d{8}$")


def parse_classes(text: str | None) -> list[str] | None:
    if not text:
        return None
    classes = [c.strip() for c in text.split(",") if c.strip()]
    bad = [c for c in classes if not WNID.match(c)]
    if bad:
        raise DataError(f"--classes takes WordNet ids like n01440764, got {', '.join(bad)}")
    return sorted(set(classes))


def train_folder(src: Path) -> Path:
    src = Path(src)
    if not src.is_dir():
        raise DataError(f"ImageNet source {src} is not a folder (expected train/<wnid>/*.JPEG)")
    return src / "train" if (src / "train").is_dir() else src


def by_classes(
    src: Path,
    classes: list[str] | None = None,
    limit_per_class: int | None = None,
    split: str | None = None,
    seed: int = 0,
) -> tuple[Path, Assignment]:
    """(class-folder root to prepare, assignment of the images of the wanted classes, split like `by_hash`)."""
    if limit_per_class is not None and limit_per_class < 1:
        raise DataError(f"--limit-per-class must be >= 1, got {limit_per_class}")
    root = train_folder(src)
    available = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not available:
        raise DataError(f"no class folders in {root}; expected the layout train/<wnid>/*.JPEG")
    wanted = classes or available
    missing = [c for c in wanted if c not in available]
    if missing:
        sample = ", ".join(available[:5]) + (" …" if len(available) > 5 else "")
        raise DataError(
            f"class folder(s) not found in {root}: {', '.join(missing)} (there are "
            f"{len(available)} class folders, e.g. {sample})"
        )
    names, per_class, ignored = [], {}, 0
    for wnid in wanted:
        files = sorted(p for p in (root / wnid).rglob("*") if p.is_file() or p.is_symlink())
        images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
        ignored += len(files) - len(images)
        if limit_per_class:
            images = images[:limit_per_class]
        per_class[wnid] = len(images)
        names.extend(p.relative_to(root).as_posix() for p in images)
    if not names:
        raise DataError(f"no image files in the class folder(s) {', '.join(wanted[:10])} of {root}")
    facts = {
        "classes": wanted,
        "per_class": per_class,
        "ignored_non_images": ignored,
        "limit_per_class": limit_per_class,
    }
    return root, replace(by_hash(split, seed), facts={"imagenet": facts}, files=tuple(names))
