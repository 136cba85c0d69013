"""`dcgan download`: fetch a dataset's files, verify, extract, convert, and say what to run next."""

from __future__ import annotations

import shlex
from pathlib import Path

from dcgan.datasets import archives, lsun, mnist
from dcgan.datasets.celeba import PARTITION_FILE
from dcgan.datasets.download import LSUN_CATEGORIES, copy_verified, fetch_known
from dcgan.errors import DataError


def _command(*parts: object) -> str:
    return " ".join(shlex.quote(str(p)) for p in parts)


def download_celeba(out: Path, *, mirror: str | None = None, progress: bool = True, **fetch_args) -> dict:
    """img_align_celeba.zip + list_eval_partition.txt → OUT/img_align_celeba/*.jpg with the partition beside."""
    out = Path(out)
    partition = fetch_known("celeba", PARTITION_FILE, out, mirror=mirror, progress=progress, **fetch_args)
    archive = fetch_known("celeba", "img_align_celeba.zip", out, mirror=mirror, progress=progress, **fetch_args)
    top = archives.extract(archive, out, progress=progress)
    images = out / "img_align_celeba"
    if not images.is_dir():
        raise DataError(f"{archive.name} did not contain img_align_celeba/ (it held {[p.name for p in top]})")
    copy_verified(partition, images / PARTITION_FILE)
    count = sum(1 for p in images.iterdir() if p.suffix.lower() == ".jpg")
    return {
        "dataset": "celeba",
        "images": str(images),
        "count": count,
        "partition": str(images / PARTITION_FILE),
        "next": [  # split by the official partition (prepare would also find it in the folder with --split)
            _command(
                "dcgan",
                "prepare",
                images,
                "--out",
                "data/celeba64",
                "--size",
                64,
                "--partition",
                images / PARTITION_FILE,
            ),
        ],
    }


def download_mnist(out: Path, *, mirror: str | None = None, progress: bool = True, **fetch_args) -> dict:
    """The four IDX files → OUT/mnist32/{train,test}/<digit>/<index>.png (28×28 padded to 32×32)."""
    out = Path(out)
    for split in mnist.FILES.values():
        for name in split:
            fetch_known("mnist", name, out, mirror=mirror, progress=progress, **fetch_args)
    images = out / "mnist32"
    counts = mnist.export_pngs(out, images, progress=progress)
    return {
        "dataset": "mnist",
        "images": str(images),
        "counts": counts,
        "next": [
            _command(
                "dcgan",
                "prepare",
                images / "train",
                "--out",
                "data/mnist32",
                "--size",
                32,
                "--grayscale",
                "--crop",
                "none",
            )
        ],
    }


def download_lsun(
    out: Path,
    *,
    category: str = "bedroom",
    subset: str = "train",
    limit: int | None = None,
    mirror: str | None = None,
    progress: bool = True,
    **fetch_args,
) -> dict:
    """CATEGORY_SUBSET_lmdb.zip → extracted LMDB → OUT/CATEGORY_SUBSET/<xx>/<key>.webp (first --limit images)."""
    if category not in LSUN_CATEGORIES:
        raise DataError(f"unknown LSUN category {category!r}; one of {', '.join(LSUN_CATEGORIES)}")
    if subset not in ("train", "val"):
        raise DataError(f"LSUN subset must be train or val, got {subset!r}")
    out = Path(out)
    name = f"{category}_{subset}_lmdb"
    archive = fetch_known("lsun", f"{name}.zip", out, mirror=mirror, progress=progress, **fetch_args)
    archives.extract(archive, out, progress=progress)
    images = out / f"{category}_{subset}"
    exported = lsun.export_lmdb(out / name, images, limit=limit, progress=progress)
    return {
        "dataset": "lsun",
        "category": category,
        "subset": subset,
        "images": str(images),
        **exported,
        "next": [_command("dcgan", "prepare", images, "--out", f"data/lsun-{category}64", "--size", 64)],
    }


def download_dataset(dataset: str, out: Path, **options) -> dict:
    if dataset == "celeba":
        return download_celeba(out, **options)
    if dataset == "mnist":
        return download_mnist(out, **options)
    if dataset == "lsun":
        return download_lsun(out, **options)
    raise DataError(f"unknown dataset {dataset!r}; one of celeba, mnist, lsun")
