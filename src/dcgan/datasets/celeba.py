"""CelebA: the official train/val/test partition and the usual DCGAN 64×64 framing.

list_eval_partition.txt has one line per image, `000001.jpg 0`, with 0 = train (162,770 images),
1 = val (19,867) and 2 = test (19,962).

The DCGAN crop: the widely used TensorFlow DCGAN (carpedm20/DCGAN-tensorflow, `main.py --dataset celebA
--input_height=108 --crop`: `center_crop(x, 108, 108)`, then resize to 64×64) takes a centred 108×108 square
of the 178×218 aligned image:
top-left (35, 55) since round((178 - 108) / 2) = 35 and round((218 - 108) / 2) = 55: the box
(35, 55, 143, 163) as (left, top, right, bottom), i.e. columns 35–142 and rows 55–162 inclusive.
`celeba_crop_box` scales that to any resolution of the aligned images (the side is 108/178 of the width,
centred).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from dcgan.data import IMAGE_SUFFIXES, PrepareOptions, list_sources
from dcgan.datasets.subsets import prepare_assigned
from dcgan.errors import DataError

PARTITION_FILE = "list_eval_partition.txt"
PARTITION_SPLITS = {"0": "train", "1": "val", "2": "test"}
CELEBA_SIZE = (178, 218)
CELEBA_CROP = 108


def celeba_crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the DCGAN CelebA crop: a centred square of 108/178 of the width."""
    side = round(width * CELEBA_CROP / CELEBA_SIZE[0])
    side = min(side, width, height)
    left, top = round((width - side) / 2), round((height - side) / 2)
    return left, top, left + side, top + side


def read_partition(path: Path) -> dict[str, str]:
    """File name → "train" / "val" / "test" from a list_eval_partition.txt; DataError on a bad line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"partition file {path} does not exist")
    partition = {}
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in PARTITION_SPLITS:
            raise DataError(f"{path}:{number}: expected 'FILE 0|1|2', got {line.strip()!r}")
        partition[fields[0]] = PARTITION_SPLITS[fields[1]]
    if not partition:
        raise DataError(f"partition file {path} is empty")
    return partition


def find_partition(src: Path) -> Path | None:
    """list_eval_partition.txt inside the source folder (`dcgan download celeba` puts a copy there)."""
    path = Path(src) / PARTITION_FILE
    return path if path.is_file() else None


def prepare_partitioned(
    src: Path,
    out: Path,
    opts: PrepareOptions,
    partition: Path | None = None,
    *,
    workers: int | None = None,
    progress: bool = True,
) -> dict:
    """`prepare` into out/{train,val,test} by CelebA's partition file instead of the name hash.

    Images are matched to the partition by file name (so nested folders work); images the file does not
    list are skipped and counted, as are non-image files.
    """
    src = Path(src)
    if src.is_file():
        raise DataError("the CelebA partition needs a folder of images; extract the archive first")
    partition = Path(partition) if partition else find_partition(src)
    if partition is None:
        beside = src.parent / PARTITION_FILE
        hint = f" (there is one beside it: --partition {beside})" if beside.is_file() else ""
        raise DataError(f"no {PARTITION_FILE} in {src}; give it with --partition FILE{hint}")
    table = read_partition(partition)
    assignment, skipped = {}, []
    for name, _size, _mtime in list_sources(src):
        if PurePosixPath(name).name == PARTITION_FILE:
            continue
        if PurePosixPath(name).suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append({"file": name, "reason": "not an image file (by extension)"})
        elif PurePosixPath(name).name in table:
            assignment[name] = table[PurePosixPath(name).name]
        else:
            skipped.append({"file": name, "reason": f"not in the partition file {partition.name}"})
    if not assignment:
        raise DataError(f"none of the images in {src} is listed in {partition}")
    return prepare_assigned(
        src,
        assignment,
        out,
        opts,
        workers=workers,
        progress=progress,
        extra={"partition": str(partition.resolve())},
        skipped=skipped,
    )
