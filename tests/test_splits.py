"""Assignments for `prepare`: the hash split (unchanged since 8558de2), CelebA's partition and identities,
ImageNet's classes, skipped and left-out files, and the `dcgan prepare` flags that choose them."""

from __future__ import annotations

import hashlib
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from dcgan.data import Cache, PrepareOptions, prepare
from dcgan.datasets import celeba, imagenet
from dcgan.errors import DataError
from dcgan.splits import SINGLE, SPLIT_NAMES, Assignment, Skip, by_group, by_hash


def split_of_8558de2(name: str, fractions: tuple[float, float, float], seed: int) -> str:
    """`dcgan.data.split_of` as it was at commit 8558de2, before assignments: the reference."""
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for split, fraction in zip(("train", "val", "test"), fractions, strict=True):
        edge += fraction
        if u < edge:
            return split
    return "test"


def save(path, color=(200, 80, 40), size=(24, 24)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def folder(root, n: int, prefix: str = "") -> list[str]:
    names = [f"{prefix}{i:06d}.png" for i in range(1, n + 1)]
    for i, name in enumerate(names):
        save(root / name, (i * 7 % 256, 90, 30))
    return names


def split_files(out) -> dict[str, list[str]]:
    return {s: json.loads((out / s / "manifest.json").read_text())["files"] for s in SPLIT_NAMES}


@pytest.mark.parametrize(("split", "seed"), [("0.9,0.05,0.05", 0), ("0.5,0.25,0.25", 7), ("0.7,0.3,0.0", 3)])
def test_hash_split_assigns_as_before(split, seed) -> None:
    fractions = tuple(float(f) for f in split.split(","))
    names = [f"img_align_celeba/{i:06d}.jpg" for i in range(3000)] + ["a.png", "nested/b c.webp", "ü.jpg"]
    assignment = by_hash(split, seed)
    placed = {n: assignment(n) for n in names}
    assert placed == {n: split_of_8558de2(n, fractions, seed) for n in names}
    assert set(placed.values()) == {s for s, f in zip(SPLIT_NAMES, fractions, strict=True) if f > 0}
    assert assignment.caches == SPLIT_NAMES and (assignment.split, assignment.seed) == (split, seed)


def test_prepare_with_a_split_writes_the_hash_assignment(tmp_path) -> None:
    names = folder(tmp_path / "src", 40)
    out = tmp_path / "cache"
    manifest = prepare(tmp_path / "src", out, PrepareOptions(size=8), split="0.5,0.25,0.25", seed=4, workers=1)
    expected = {s: [n for n in names if split_of_8558de2(n, (0.5, 0.25, 0.25), 4) == s] for s in SPLIT_NAMES}
    assert split_files(out) == expected
    assert manifest["counts"] == {s: len(v) for s, v in expected.items()}
    assert (manifest["split"], manifest["split_seed"]) == ("0.5,0.25,0.25", 4)
    same = prepare(tmp_path / "src", out, PrepareOptions(size=8), by_hash("0.5,0.25,0.25", 4), workers=1)
    assert same["fingerprint"] == manifest["fingerprint"]  # the shorthand and the builder are one assignment
    with pytest.raises(DataError, match="--split must be three"):
        by_hash("0.5,0.5")


def test_single_cache_is_every_file(tmp_path) -> None:
    names = folder(tmp_path / "src", 5)
    assignment = by_hash(None, seed=2)
    assert assignment.caches == (SINGLE,) and {assignment(n) for n in names} == {SINGLE}
    manifest = prepare(tmp_path / "src", tmp_path / "cache", PrepareOptions(size=8), assignment, workers=1)
    assert manifest["files"] == names and (manifest["split"], manifest["split_seed"]) == (None, 2)
    assert not (tmp_path / "cache" / "train").exists()


def test_left_out_and_skipped_files(tmp_path) -> None:
    names = folder(tmp_path / "src", 6)
    (tmp_path / "src" / "notes.txt").write_text("x")
    mapping = {names[0]: "train", names[1]: "val", names[2]: "test", names[3]: Skip("held back by hand")}
    mapping["notes.txt"] = "train"
    out = tmp_path / "cache"
    manifest = prepare(tmp_path / "src", out, PrepareOptions(size=8), Assignment(mapping, split="hand"), workers=1)
    assert split_files(out) == {"train": [names[0]], "val": [names[1]], "test": [names[2]]}
    assert manifest["skipped_by_reason"] == {"held back by hand": 1, "not an image file": 1}
    listed = {s["file"] for s in manifest["skipped"]} | {f for v in split_files(out).values() for f in v}
    assert names[4] not in listed and names[5] not in listed  # not in the mapping: not part of the dataset
    with pytest.raises(DataError, match="assigned to 'holdout'"):
        prepare(tmp_path / "src", tmp_path / "bad", PrepareOptions(size=8), Assignment({names[0]: "holdout"}, "x"))
    with pytest.raises(DataError, match=r"none of the images .* \{'held back by hand': 1\}"):
        prepare(
            tmp_path / "src",
            tmp_path / "bad",
            PrepareOptions(size=8),
            Assignment({names[3]: Skip("held back by hand")}, "x"),
        )
    assert not (tmp_path / "bad").exists() and not list(tmp_path.glob(".bad*"))


def test_changing_the_assignment_rebuilds_and_keeping_it_does_not(tmp_path) -> None:
    names = folder(tmp_path / "src", 4)
    out = tmp_path / "cache"
    first = Assignment({n: "train" for n in names}, split="hand")
    prepare(tmp_path / "src", out, PrepareOptions(size=8), first, workers=1, progress=False)
    stamp = (out / "train" / "images.npy").stat().st_mtime_ns
    again = Assignment({n: "train" for n in names}, split="hand")
    prepare(tmp_path / "src", out, PrepareOptions(size=8), again, workers=1, progress=False)
    assert (out / "train" / "images.npy").stat().st_mtime_ns == stamp
    moved = Assignment({**{n: "train" for n in names}, names[0]: "test"}, split="hand")
    manifest = prepare(tmp_path / "src", out, PrepareOptions(size=8), moved, workers=1, progress=False)
    assert manifest["counts"] == {"train": 3, "val": 0, "test": 1}
    assert Cache.open(out / "test").images.shape == (1, 8, 8, 3)


def test_celeba_partition_places_by_base_name(tmp_path) -> None:
    src = tmp_path / "img"
    names = folder(src, 4, prefix="part/")
    (src / celeba.PARTITION_FILE).write_text("000001.png 0\n000002.png 1\n000003.png 2\n")
    assignment = celeba.by_partition(src)
    assert [assignment(n) for n in names] == [
        "train",
        "val",
        "test",
        Skip(f"not in the partition file {celeba.PARTITION_FILE}"),
    ]
    assert assignment(celeba.PARTITION_FILE) is None  # the list itself is not part of the dataset
    assert assignment.facts == {"partition": str((src / celeba.PARTITION_FILE).resolve())}
    archive = tmp_path / "img.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(src, arcname="img")
    with pytest.raises(DataError, match="give it with --partition"):
        celeba.by_partition(archive)
    from_tar = celeba.by_partition(archive, src / celeba.PARTITION_FILE)
    manifest = prepare(archive, tmp_path / "cache", PrepareOptions(size=8), from_tar, workers=1, progress=False)
    assert manifest["counts"] == {"train": 1, "val": 1, "test": 1} and manifest["skipped_count"] == 1


def test_identity_split_keeps_each_person_in_one_split(tmp_path) -> None:
    src = tmp_path / "img"
    names = folder(src, 60)
    people = {name: str(i % 12) for i, name in enumerate(names[:-1])}  # 12 people with 4-5 photos; one unlisted
    identities = tmp_path / "identity_CelebA.txt"
    identities.write_text("".join(f"{n} {p}\n" for n, p in people.items()))
    out = tmp_path / "cache"
    manifest = prepare(src, out, PrepareOptions(size=8), celeba.by_identity(identities, "0.6,0.2,0.2", 1), workers=1)
    splits_of_person: dict[str, set[str]] = {}
    for split, files in split_files(out).items():
        for name in files:
            splits_of_person.setdefault(people[name], set()).add(split)
    assert all(len(s) == 1 for s in splits_of_person.values()) and len(splits_of_person) == 12
    assert len({next(iter(s)) for s in splits_of_person.values()}) > 1  # people do land in different splits
    assert manifest["skipped"] == [{"file": names[-1], "reason": "not in the identity file identity_CelebA.txt"}]
    assert manifest["split_by"] == "identity" and manifest["split"] == "0.6,0.2,0.2"
    by_person = by_group(lambda n: people.get(n), "0.6,0.2,0.2", seed=1)
    assert {n: by_person(n) for n in people} == {n: split_of_8558de2(p, (0.6, 0.2, 0.2), 1) for n, p in people.items()}
    identities.write_text("000001.png x\n")
    with pytest.raises(DataError, match=r"identity_CelebA.txt:1: expected 'FILE ID'"):
        celeba.by_identity(identities, "0.6,0.2,0.2")


def test_imagenet_classes_read_only_the_wanted_folders(tmp_path) -> None:
    for wnid in ("n01440764", "n02102040", "n03000134"):
        folder(tmp_path / "train" / wnid, 3, prefix=f"{wnid}_")
    (tmp_path / "train" / "n01440764" / "readme.txt").write_text("x")
    root, assignment = imagenet.by_classes(tmp_path, ["n01440764", "n03000134"], limit_per_class=2, split=None)
    assert root == tmp_path / "train"
    assert assignment.files == (
        "n01440764/n01440764_000001.png",
        "n01440764/n01440764_000002.png",
        "n03000134/n03000134_000001.png",
        "n03000134/n03000134_000002.png",
    )
    manifest = prepare(root, tmp_path / "cache", PrepareOptions(size=8), assignment, workers=1, progress=False)
    assert manifest["files"] == list(assignment.files) and manifest["skipped_count"] == 0
    assert manifest["imagenet"]["per_class"] == {"n01440764": 2, "n03000134": 2}
    with pytest.raises(DataError, match="--limit-per-class must be >= 1"):
        imagenet.by_classes(tmp_path, limit_per_class=0)


def test_prepare_command_chooses_the_assignment(tmp_path, capsys) -> None:
    import dcgan.cli as main_cli

    src = tmp_path / "img"
    names = folder(src, 6)
    (src / celeba.PARTITION_FILE).write_text("".join(f"{n} {i % 3}\n" for i, n in enumerate(names)))
    base = ["prepare", str(src), "--size", "8", "--workers", "1"]
    main_cli.main([*base, "--out", str(tmp_path / "official"), "--split", "0.8,0.1,0.1"])
    assert "splitting by CelebA's official partition" in capsys.readouterr().out
    assert split_files(tmp_path / "official")["val"] == [names[1], names[4]]
    identities = tmp_path / "identity_CelebA.txt"
    identities.write_text("".join(f"{n} {i // 2}\n" for i, n in enumerate(names)))
    main_cli.main(
        [*base, "--out", str(tmp_path / "people"), "--split", "0.5,0.25,0.25", "--identities", str(identities)]
    )
    files = split_files(tmp_path / "people")
    assert sorted(f for v in files.values() for f in v) == names
    assert all(
        next(s for s, v in files.items() if n in v) == split_of_8558de2(str(i // 2), (0.5, 0.25, 0.25), 0)
        for i, n in enumerate(names)
    )
    with pytest.raises(SystemExit) as info:
        main_cli.main([*base, "--out", str(tmp_path / "x"), "--identities", str(identities)])
    assert info.value.code == 2 and "give --split" in capsys.readouterr().err
    assert np.load(tmp_path / "people" / "train" / "images.npy").shape[1:] == (8, 8, 3)
