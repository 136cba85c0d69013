"""The data of a search: the train, val and test folders of a split cache from `dcgan prepare --split`."""

from __future__ import annotations

from pathlib import Path

from dcgan.config import Config
from dcgan.errors import DataError


def split_dirs(data: Path, need_test: bool = False) -> tuple[Path, Path, Path | None]:
    """DIR/train, DIR/val and DIR/test (None when absent) of a split cache; readable errors when missing."""
    data = Path(data)
    if not data.is_dir():
        raise DataError(
            f"--data {data} does not exist; make a split cache with `dcgan prepare SRC --out {data} --split`"
        )
    train, val, test = (data / name for name in ("train", "val", "test"))
    make = f"`dcgan prepare SRC --out {data} --split 0.9,0.05,0.05`"
    if not (train / "images.npy").exists():
        hint = " (it is a single cache, not a split one)" if (data / "images.npy").exists() else ""
        raise DataError(f"{data} is not a split cache{hint}: no {train}; make one with {make}")
    if not (val / "images.npy").exists():
        raise DataError(f"{data} has no validation split ({val}); tuning scores trials on it. Make it with {make}")
    if need_test and not (test / "images.npy").exists():
        raise DataError(f"{data} has no test split ({test}) to evaluate the winner on; make it with {make}")
    return train, val, test if (test / "images.npy").exists() else None


def open_split(path: Path, what: str, base: Config):
    """The cache of one split, checked against the base config's image shape (val and test: at least 2 images)."""
    from dcgan.data import Cache

    try:
        cache = Cache.open(path)
    except DataError as exc:
        raise DataError(f"the {what} split: {exc}; re-run `dcgan prepare --split` with a larger {what} share") from None
    cache.check_shape(base.image_size, base.channels)
    if what != "train" and len(cache.images) < 2:
        raise DataError(f"the {what} split {path} holds {len(cache.images)} image; FID needs at least 2")
    return cache
