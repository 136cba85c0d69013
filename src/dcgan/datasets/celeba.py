"""CelebA: assignments for `prepare` from the official partition file or the identity file, and the framing.

list_eval_partition.txt has one line per image, `000001.jpg 0`, with 0 = train (162,770 images),
1 = val (19,867) and 2 = test (19,962). identity_CelebA.txt has one line per image, `000001.jpg 2880`: the
person's id. Images are matched to these files by base name (so nested folders work); images a file does not
list are skipped and counted, the list files themselves are not part of the dataset.

The DCGAN crop (`dcgan prepare --crop celeba`): the widely used TensorFlow DCGAN (carpedm20/DCGAN-tensorflow,
`main.py --dataset celebA --input_height=108 --crop`: `center_crop(x, 108, 108)`, then resize to 64×64) takes
a centred 108×108 square of the 178×218 aligned image: top-left (35, 55) since round((178 - 108) / 2) = 35 and
round((218 - 108) / 2) = 55, i.e. columns 35–142 and rows 55–162 inclusive. `dcgan.data.decode` scales that
square to any resolution of the aligned images (the side is 108/178 of the width, centred).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePosixPath

from dcgan.errors import DataError
from dcgan.splits import Assignment, Placement, Skip, by_group

PARTITION_FILE = "list_eval_partition.txt"
IDENTITY_FILE = "identity_CelebA.txt"
PARTITION_SPLITS = {"0": "train", "1": "val", "2": "test"}


def _read_list(path: Path, what: str, valid: dict[str, str] | None) -> dict[str, str]:
    """File name → value of a CelebA list file of `FILE VALUE` lines; values must be keys of `valid`
    (mapped through it), or any integer when `valid` is None. DataError on a bad line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{what} file {path} does not exist")
    expected = f"'FILE {'|'.join(valid)}'" if valid else "'FILE ID'"
    table = {}
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or (fields[1] not in valid if valid else not fields[1].isdigit()):
            raise DataError(f"{path}:{number}: expected {expected}, got {line.strip()!r}")
        table[fields[0]] = valid[fields[1]] if valid else fields[1]
    if not table:
        raise DataError(f"{what} file {path} is empty")
    return table


def read_partition(path: Path) -> dict[str, str]:
    """File name → "train" / "val" / "test" from a list_eval_partition.txt; DataError on a bad line."""
    return _read_list(path, "partition", PARTITION_SPLITS)


def read_identities(path: Path) -> dict[str, str]:
    """File name → person id from an identity_CelebA.txt; DataError on a bad line."""
    return _read_list(path, "identity", None)


def _lookup(table: dict[str, str], path: Path, what: str) -> Callable[[str], Placement]:
    """A placer: a file's value in `table` by base name; the list files are left out, unlisted files skipped."""
    unlisted = Skip(f"not in the {what} file {path.name}")

    def place(name: str) -> Placement:
        base = PurePosixPath(name).name
        if base in (PARTITION_FILE, IDENTITY_FILE, path.name):
            return None
        return table.get(base, unlisted)

    return place


def find_partition(src: Path) -> Path | None:
    """list_eval_partition.txt inside the source folder (`dcgan download celeba` puts a copy there)."""
    path = Path(src) / PARTITION_FILE
    return path if path.is_file() else None


def by_partition(src: Path, partition: Path | None = None) -> Assignment:
    """train/val/test by CelebA's partition file (default: the one inside the `src` folder; a tar source
    needs it given)."""
    src = Path(src)
    partition = Path(partition) if partition else find_partition(src)
    if partition is None:
        beside = src.parent / PARTITION_FILE
        hint = f" (there is one beside it: --partition {beside})" if beside.is_file() else ""
        raise DataError(f"no {PARTITION_FILE} in {src}; give it with --partition FILE{hint}")
    place = _lookup(read_partition(partition), partition, "partition")
    return Assignment(place, split="assigned", seed=None, facts={"partition": str(partition.resolve())})


def by_identity(identities: Path, split: str, seed: int = 0) -> Assignment:
    """train/val/test with these fractions by a hash of each image's person id, so no person is in two splits."""
    identities = Path(identities)
    table = read_identities(identities)
    assignment = by_group(_lookup(table, identities, "identity"), split, seed)
    return replace(assignment, facts={"split_by": "identity", "identities": str(identities.resolve())})
