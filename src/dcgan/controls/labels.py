"""Face labels: CelebA's official attribute file and UTKFace's labelled file names.

- CelebA (`list_attr_celeba.txt`): line 1 the official face count, line 2 the 40 attribute names, then one line per
  face, `000001.jpg` and 40 values, 1 (has it) or -1. A face is keyed by its file stem (`000001`), so a cache's
  `000001.jpg` (or `celeba/000001.jpg`) finds its row. One attribute is derived: `Beard` = Mustache or Goatee or
  not No_Beard.
- UTKFace: `age_gender_race_date.jpg` (some with more suffixes, `….jpg.chip.jpg`): age in years, gender 0 male and
  1 female, race 0–4. A name without all three labels is skipped and counted.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from dcgan.errors import DataError

UTKFACE_NAME = re.compile(r"^(\d{1,3})_([01])_([0-4])_\d")
MAX_AGE = 120


def face_id(name: str) -> str:
    """The key of a face in the label tables: its file stem (`celeba/000001.jpg` → `000001`)."""
    return PurePosixPath(name.replace("\\", "/")).name.split(".")[0]


@dataclass(frozen=True)
class CelebaLabels:
    """Binary attributes of CelebA faces: `names` (the file's 40, then the derived ones) × one row per face."""

    names: tuple[str, ...]
    rows: dict[str, int]  # face id → row of `values`
    values: np.ndarray  # bool, len(rows) × len(names)

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, name: str) -> bool:
        return face_id(name) in self.rows

    def get(self, name: str) -> dict[str, bool]:
        """The labels of one face (file name or id); a KeyError when it has none."""
        row = self.values[self.rows[face_id(name)]]
        return {attribute: bool(value) for attribute, value in zip(self.names, row, strict=True)}

    def matrix(self, names: list[str], attributes: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(float32 len(names)×len(attributes) labels, 0 or 1 with NaN for a face without labels; bool mask of
        the faces that have them)."""
        missing = [a for a in attributes if a not in self.names]
        if missing:
            raise DataError(f"the CelebA labels have no attribute {', '.join(missing)}")
        columns = [self.names.index(a) for a in attributes]
        found = np.array([face_id(n) in self.rows for n in names], dtype=bool)
        out = np.full((len(names), len(attributes)), np.nan, dtype=np.float32)
        rows = [self.rows[face_id(n)] for n, ok in zip(names, found, strict=True) if ok]
        out[found] = self.values[np.asarray(rows, dtype=np.int64)][:, columns]
        return out, found


def parse_celeba_attributes(text: str, source: str = "attribute file") -> CelebaLabels:
    """Parse the text of CelebA's `list_attr_celeba.txt` (or a first part of it); a DataError names the line of
    any malformed content."""
    lines = text.splitlines()
    if len(lines) < 2:
        raise DataError(f"{source}: expected a count line and a line of attribute names, got {len(lines)} lines")
    try:
        declared = int(lines[0].strip())
    except ValueError:
        raise DataError(f"{source}: line 1 should be the face count, got {lines[0][:40]!r}") from None
    names = tuple(lines[1].split())
    if not names or len(set(names)) != len(names):
        raise DataError(f"{source}: line 2 should name each attribute once, got {lines[1][:80]!r}")
    rows: dict[str, int] = {}
    values = []
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(names) + 1:
            raise DataError(f"{source}: line {number} has {len(fields) - 1} values for {len(names)} attributes")
        if not set(fields[1:]) <= {"1", "-1"}:
            raise DataError(f"{source}: line {number} holds a value other than 1 or -1")
        key = face_id(fields[0])
        if key in rows:
            raise DataError(f"{source}: line {number} repeats face {fields[0]}")
        rows[key] = len(values)
        values.append([field == "1" for field in fields[1:]])
    if len(rows) > declared:
        raise DataError(f"{source}: {len(rows)} rows but line 1 declares {declared} faces")
    table = np.array(values, dtype=bool).reshape(len(values), len(names))
    return _with_derived(names, rows, table)


def _with_derived(names: tuple[str, ...], rows: dict[str, int], table: np.ndarray) -> CelebaLabels:
    if {"Mustache", "Goatee", "No_Beard"} <= set(names) and "Beard" not in names:
        column = lambda name: table[:, names.index(name)]  # noqa: E731
        beard = column("Mustache") | column("Goatee") | ~column("No_Beard")
        names, table = (*names, "Beard"), np.concatenate([table, beard[:, None]], axis=1)
    return CelebaLabels(names, rows, table)


def read_celeba_attributes(path: Path | str) -> CelebaLabels:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DataError(f"no CelebA attribute file at {path} (list_attr_celeba.txt or a part of it)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the CelebA attribute file {path}: {exc}") from None
    return parse_celeba_attributes(text, str(path))


@dataclass(frozen=True)
class UtkLabel:
    age: int  # years
    male: bool  # UTKFace gender 0
    race: int  # 0–4 as UTKFace defines them


def parse_utkface_name(name: str) -> UtkLabel | None:
    """The labels in a UTKFace file name (`26_1_3_20170119.jpg`), None when it lacks one or is out of range."""
    match = UTKFACE_NAME.match(PurePosixPath(name).name)
    if match is None or not 0 < int(match[1]) <= MAX_AGE:
        return None
    return UtkLabel(age=int(match[1]), male=match[2] == "0", race=int(match[3]))


def utkface_labels(names: list[str]) -> tuple[dict[str, UtkLabel], Counter]:
    """{name: labels} of the names that carry them, and the count of skipped names by reason."""
    labels, skipped = {}, Counter()
    for name in names:
        label = parse_utkface_name(name)
        if label is None:
            skipped["no age_gender_race in the name"] += 1
        else:
            labels[name] = label
    return labels, skipped
