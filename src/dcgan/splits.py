"""Which cache each source file goes to: the `Assignment` that `dcgan.data.prepare` follows, and the generic
builders (one cache, or train/val/test by a hash of the file name or of a group such as a person's id).

Dataset-specific builders live with their dataset: CelebA's partition and identity files in
`dcgan.datasets.celeba`, ImageNet's class folders in `dcgan.datasets.imagenet`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from dcgan.errors import DataError

SPLIT_NAMES = ("train", "val", "test")
SINGLE = "all"  # the placement of every file of an unsplit cache


@dataclass(frozen=True)
class Skip:
    """A placement that leaves a file out of the cache and lists it among the skipped files, with a reason."""

    reason: str


Placement = str | Skip | None
Placer = Callable[[str], Placement] | Mapping[str, Placement]


@dataclass(frozen=True)
class Assignment:
    """Where each source file goes, and what the manifests record about how it was chosen.

    `place` (a function or a mapping of relative file names) gives a split name of SPLIT_NAMES (a split
    cache) or SINGLE (one cache), `Skip(reason)` to leave the file out and list it as skipped, or None to
    leave it out unlisted (it is not part of the dataset; a mapping gives None for names it lacks).
    `split` and `seed` are the manifest's `split` and `split_seed`: a split cache has a `split`, one cache
    None. `facts` are added to every manifest. `files`, if given, are the only source files read, so a
    few folders of a large tree are not listed whole.
    """

    place: Placer
    split: str | None = None
    seed: int | None = 0
    facts: Mapping = field(default_factory=dict)
    files: tuple[str, ...] | None = None

    @property
    def caches(self) -> tuple[str, ...]:
        return (SINGLE,) if self.split is None else SPLIT_NAMES

    def __call__(self, name: str) -> Placement:
        return self.place.get(name) if isinstance(self.place, Mapping) else self.place(name)


def parse_split(text: str) -> tuple[float, float, float]:
    """A split like "0.9,0.05,0.05" → (train, val, test); DataError unless each >= 0, sum 1, train > 0."""
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise DataError(f"--split must be three numbers like 0.9,0.05,0.05, got {text!r}") from None
    if len(parts) != 3 or min(parts) < 0 or abs(sum(parts) - 1) > 1e-6 or parts[0] == 0:
        raise DataError(f"--split must be three non-negative fractions summing to 1 (train > 0), got {text!r}")
    return parts  # type: ignore[return-value]


def split_of(key: str, fractions: tuple[float, float, float], seed: int) -> str:
    """train/val/test from a hash of (seed, key): a key keeps its split when others are added."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for split, fraction in zip(SPLIT_NAMES, fractions, strict=True):
        edge += fraction
        if u < edge:
            return split
    return SPLIT_NAMES[-1]


def by_hash(split: str | None, seed: int = 0) -> Assignment:
    """Every file into one cache (`split` None), or train/val/test by a hash of its name with these fractions."""
    if split is None:
        return Assignment(lambda _name: SINGLE, split=None, seed=seed)
    fractions = parse_split(split)
    return Assignment(lambda name: split_of(name, fractions, seed), split=split, seed=seed)


def by_group(group_of: Callable[[str], str | Skip | None], split: str, seed: int = 0) -> Assignment:
    """train/val/test by a hash of each file's group (e.g. a person's id), so no group straddles two splits.

    `group_of(name)` gives the group, or a Skip / None placement for a file without one.
    """
    fractions = parse_split(split)

    def place(name: str) -> Placement:
        group = group_of(name)
        return group if group is None or isinstance(group, Skip) else split_of(group, fractions, seed)

    return Assignment(place, split=split, seed=seed)
