"""ImageNet from disk (it cannot be downloaded without an account): train/<wnid>/*.JPEG → a prepared cache.

SRC may be the ImageNet root (holding train/), the train folder itself, or any folder of class folders.
"""

from __future__ import annotations

import re
from pathlib import Path

from dcgan.data import IMAGE_SUFFIXES, PrepareOptions
from dcgan.datasets.subsets import prepare_names
from dcgan.errors import DataError

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


def select(
    src: Path, classes: list[str] | None = None, limit_per_class: int | None = None
) -> tuple[Path, list[str], dict]:
    """(class-folder root, relative image names, facts for the manifest) for the wanted classes."""
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
    empty = [c for c, n in per_class.items() if n == 0]
    if len(empty) == len(per_class):
        raise DataError(f"no image files in the class folder(s) {', '.join(wanted[:10])} of {root}")
    facts = {
        "classes": wanted,
        "per_class": per_class,
        "ignored_non_images": ignored,
        "limit_per_class": limit_per_class,
    }
    return root, names, facts


def prepare_imagenet(
    src: Path,
    out: Path,
    opts: PrepareOptions,
    *,
    classes: list[str] | None = None,
    split: str | None = None,
    seed: int = 0,
    limit_per_class: int | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> dict:
    if limit_per_class is not None and limit_per_class < 1:
        raise DataError(f"--limit-per-class must be >= 1, got {limit_per_class}")
    root, names, facts = select(src, classes, limit_per_class)
    return prepare_names(
        root, names, out, opts, split=split, seed=seed, workers=workers, progress=progress, extra={"imagenet": facts}
    )
