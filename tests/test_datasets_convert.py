"""Conversions and wrappers around `prepare`: MNIST IDX, LSUN LMDB, CelebA partition and crop, ImageNet, listing."""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from dcgan.cli.data import add_commands
from dcgan.data import Cache, PrepareOptions, prepare
from dcgan.datasets import celeba, imagenet, lsun, mnist
from dcgan.datasets.listing import format_table, list_prepared
from dcgan.errors import DataError


def run_cli(*argv: str) -> None:
    parser = argparse.ArgumentParser(prog="dcgan")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    args.func(args)


def save(path, size=(40, 40), color=(200, 80, 40), fmt=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, fmt)


# ---------------------------------------------------------------- MNIST


def test_idx_round_trip_and_bad_files(tmp_path) -> None:
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(mnist.read_idx(mnist.write_idx(tmp_path / "a.gz", array)), array)
    assert np.array_equal(mnist.read_idx(mnist.write_idx(tmp_path / "a.idx", array, compress=False)), array)
    (tmp_path / "bad").write_bytes(b"\x00\x00\x08\x03" + b"\x00\x00\x00\x02" * 3 + b"short")
    with pytest.raises(DataError, match="header says"):
        mnist.read_idx(tmp_path / "bad")
    (tmp_path / "html").write_bytes(b"<!DOCTYPE html>")
    with pytest.raises(DataError, match="not an IDX file"):
        mnist.read_idx(tmp_path / "html")
    (tmp_path / "cut.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05abcde")[:-6])
    with pytest.raises(DataError, match="could not be read as gzip"):
        mnist.read_idx(tmp_path / "cut.gz")


def test_mnist_labels_that_do_not_match_are_an_error(tmp_path) -> None:
    mnist.write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8))
    mnist.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(2, np.uint8))
    with pytest.raises(DataError, match="do not match"):
        mnist.export_pngs(tmp_path, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists() and not (tmp_path / ".out.tmp").exists()


# ---------------------------------------------------------------- LSUN


def make_lmdb(path, values: dict[bytes, bytes]) -> None:
    lmdb = pytest.importorskip("lmdb")

    env = lmdb.open(str(path), map_size=1 << 24)
    with env.begin(write=True) as txn:
        for key, value in values.items():
            txn.put(key, value)
    env.close()


def image_bytes(fmt: str, color=(10, 200, 30)) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), color).save(buffer, fmt)
    return buffer.getvalue()


def test_lmdb_export_writes_bytes_as_is_and_counts_unknown_values(tmp_path) -> None:
    values = {
        b"aa01": image_bytes("WEBP"),
        b"bb02": image_bytes("JPEG"),
        b"cc03": image_bytes("PNG"),
        b"dd04": b"not an image",
        b"../../evil": image_bytes("JPEG"),
    }
    make_lmdb(tmp_path / "db", values)
    result = lsun.export_lmdb(tmp_path / "db" / "data.mdb", tmp_path / "out", progress=False)
    assert result["count"] == 4 and result["skipped_count"] == 1 and result["entries"] == 5
    assert result["formats"] == {"webp": 1, "jpg": 2, "png": 1}
    assert (tmp_path / "out" / "aa" / "aa01.webp").read_bytes() == values[b"aa01"]
    assert (tmp_path / "out" / "bb" / "bb02.jpg").read_bytes() == values[b"bb02"]
    unsafe = b"../../evil".hex()
    assert (tmp_path / "out" / unsafe[:2] / f"{unsafe}.jpg").exists()  # odd keys become hex names inside out
    assert not list(tmp_path.glob("evil*"))
    assert lsun.export_lmdb(tmp_path / "db", tmp_path / "two", limit=2, progress=False)["count"] == 2


def test_lmdb_errors(tmp_path) -> None:
    pytest.importorskip("lmdb")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no LMDB database"):
        lsun.export_lmdb(tmp_path / "empty", tmp_path / "out", progress=False)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "data.mdb").write_bytes(b"<html>quota</html>" * 10)
    with pytest.raises(DataError, match="not a readable LMDB"):
        lsun.export_lmdb(tmp_path / "junk", tmp_path / "out", progress=False)
    with pytest.raises(DataError, match="--limit must be >= 1"):
        lsun.export_lmdb(tmp_path / "junk", tmp_path / "out", limit=0, progress=False)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- CelebA


def partitioned(src, out, partition=None, **options) -> dict:
    return prepare(src, out, PrepareOptions(size=8), celeba.by_partition(src, partition), **options)


def test_partition_file_parsing(tmp_path) -> None:
    (tmp_path / "p.txt").write_text("000001.jpg 0\n000002.jpg 1\r\n\n000003.jpg 2\n")
    assert celeba.read_partition(tmp_path / "p.txt") == {
        "000001.jpg": "train",
        "000002.jpg": "val",
        "000003.jpg": "test",
    }
    (tmp_path / "bad.txt").write_text("000001.jpg 0\n000002.jpg 7\n")
    with pytest.raises(DataError, match=r"bad.txt:2: expected 'FILE 0\|1\|2'"):
        celeba.read_partition(tmp_path / "bad.txt")
    with pytest.raises(DataError, match="does not exist"):
        celeba.read_partition(tmp_path / "missing.txt")


def test_partition_split_skips_unlisted_files_and_reruns_are_noops(tmp_path) -> None:
    src = tmp_path / "img_align_celeba"
    for i in range(1, 8):
        save(src / f"{i:06d}.jpg", (178, 218), (i * 30, 100, 100), "JPEG")
    save(src / "extra.jpg")
    (src / "notes.txt").write_text("hello")
    (tmp_path / celeba.PARTITION_FILE).write_text("".join(f"{i:06d}.jpg {i % 3}\n" for i in range(1, 8)))
    assert celeba.find_partition(src) is None  # only looked for inside the source folder
    with pytest.raises(DataError, match=r"there is one beside it: --partition .*list_eval_partition\.txt"):
        partitioned(src, tmp_path / "cache", progress=False)
    (src / celeba.PARTITION_FILE).write_bytes((tmp_path / celeba.PARTITION_FILE).read_bytes())
    assert celeba.find_partition(src) == src / celeba.PARTITION_FILE
    out = tmp_path / "cache"
    manifest = partitioned(src, out, workers=1, progress=False)
    assert manifest["counts"] == {"train": 2, "val": 3, "test": 2}
    assert manifest["skipped_by_reason"] == {
        "not in the partition file list_eval_partition.txt": 1,
        "not an image file": 1,
    }
    assert manifest["source"] == str(src.resolve()) and manifest["partition"].endswith(celeba.PARTITION_FILE)
    val = json.loads((out / "val" / "manifest.json").read_text())
    assert val["files"] == ["000001.jpg", "000004.jpg", "000007.jpg"] and val["count"] == 3
    assert not list(tmp_path.glob(".cache.*"))  # no staging or link folder left behind
    stamp = (out / "train" / "images.npy").stat().st_mtime_ns
    partitioned(src, out, workers=1, progress=False)
    assert (out / "train" / "images.npy").stat().st_mtime_ns == stamp
    (src / celeba.PARTITION_FILE).write_text("".join(f"{i:06d}.jpg 0\n" for i in range(1, 8)))
    changed = partitioned(src, out, workers=1, progress=False)
    assert changed["counts"] == {"train": 7, "val": 0, "test": 0}
    assert Cache.open(out / "train").images.shape == (7, 8, 8, 3)
    assert np.load(out / "val" / "images.npy").shape == (0, 8, 8, 3)


def test_partition_errors(tmp_path) -> None:
    src = tmp_path / "imgs"
    save(src / "a.jpg")
    with pytest.raises(DataError, match="give it with --partition"):
        partitioned(src, tmp_path / "out", progress=False)
    (tmp_path / "p.txt").write_text("zzz.jpg 0\n")
    with pytest.raises(DataError, match="none of the images"):
        partitioned(src, tmp_path / "out", tmp_path / "p.txt", progress=False)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- ImageNet


def imagenet_tree(root) -> None:
    for wnid, n in (("n01440764", 3), ("n02102040", 2), ("n03000134", 2)):
        for i in range(n):
            save(root / "train" / wnid / f"{wnid}_{i}.JPEG", (50, 40), (i * 60, 90, 20), "JPEG")
    (root / "train" / "n01440764" / "readme.txt").write_text("x")
    (root / "val").mkdir()


def test_imagenet_class_filter(tmp_path, capsys) -> None:
    imagenet_tree(tmp_path / "ilsvrc")
    run_cli(
        "imagenet",
        str(tmp_path / "ilsvrc"),
        "--out",
        str(tmp_path / "in16"),
        "--classes",
        "n02102040,n01440764",
        "--size",
        "16",
        "--workers",
        "1",
    )
    assert "5 images of 2 classes" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "in16" / "manifest.json").read_text())
    assert manifest["count"] == 5 and manifest["source"] == str((tmp_path / "ilsvrc" / "train").resolve())
    assert manifest["imagenet"]["per_class"] == {"n01440764": 3, "n02102040": 2}
    assert manifest["imagenet"]["ignored_non_images"] == 1
    assert all(f.split("/")[0] in ("n01440764", "n02102040") for f in manifest["files"])
    assert Cache.open(tmp_path / "in16").images.shape == (5, 16, 16, 3)
    assert not list(tmp_path.glob(".in16*"))
    stamp = (tmp_path / "in16" / "images.npy").stat().st_mtime_ns  # unchanged source: prepare's no-op holds
    run_cli(
        "imagenet",
        str(tmp_path / "ilsvrc" / "train"),
        "--out",
        str(tmp_path / "in16"),
        "--classes",
        "n01440764,n02102040",
        "--size",
        "16",
        "--workers",
        "1",
    )
    assert (tmp_path / "in16" / "images.npy").stat().st_mtime_ns == stamp


def test_imagenet_split_and_limit(tmp_path) -> None:
    imagenet_tree(tmp_path / "ilsvrc")
    root, assignment = imagenet.by_classes(tmp_path / "ilsvrc", limit_per_class=2, split="0.5,0.25,0.25")
    manifest = prepare(root, tmp_path / "out", PrepareOptions(size=8), assignment, workers=1, progress=False)
    assert manifest["count"] == 6 and sum(manifest["counts"].values()) == 6
    for split in ("train", "val", "test"):
        assert json.loads((tmp_path / "out" / split / "manifest.json").read_text())["source"] == manifest["source"]


def test_imagenet_errors(tmp_path) -> None:
    imagenet_tree(tmp_path / "ilsvrc")
    with pytest.raises(DataError, match=r"not found.*n09999999"):
        run_cli("imagenet", str(tmp_path / "ilsvrc"), "--out", str(tmp_path / "o"), "--classes", "n09999999")
    with pytest.raises(DataError, match="WordNet ids"):
        run_cli("imagenet", str(tmp_path / "ilsvrc"), "--out", str(tmp_path / "o"), "--classes", "dogs")
    (tmp_path / "flat").mkdir()
    save(tmp_path / "flat" / "a.jpg")
    with pytest.raises(DataError, match="no class folders"):
        run_cli("imagenet", str(tmp_path / "flat"), "--out", str(tmp_path / "o"))
    with pytest.raises(DataError, match="not a folder"):
        run_cli("imagenet", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))


# ---------------------------------------------------------------- listing


def test_datasets_lists_prepared_caches(tmp_path, capsys) -> None:
    src = tmp_path / "src"
    for i in range(6):
        save(src / f"{i}.png", (30, 30), (i * 40, 0, 0))
    root = tmp_path / "data"
    prepare(src, root / "plain32", PrepareOptions(size=32), workers=1, progress=False)
    prepare(
        src,
        root / "faces" / "split16",
        PrepareOptions(size=16, grayscale=True),
        split="0.5,0.25,0.25",
        workers=1,
        progress=False,
    )
    (root / "broken").mkdir()
    (root / "broken" / "manifest.json").write_text("{not json")
    (root / "bundle").mkdir()
    (root / "bundle" / "manifest.json").write_text(json.dumps({"kind": "model bundle"}))
    rows = {r["name"]: r for r in list_prepared(root)}
    assert set(rows) == {"plain32", "faces/split16", "broken"}
    assert rows["plain32"]["counts"] == {"all": 6} and rows["plain32"]["size"] == 32
    assert rows["faces/split16"]["channels"] == 1 and sum(rows["faces/split16"]["counts"].values()) == 6
    assert rows["faces/split16"]["disk"] > 0 and rows["faces/split16"]["source"] == str(src.resolve())
    assert "error" in rows["broken"]
    run_cli("datasets", "--root", str(root))
    table = capsys.readouterr().out
    assert "plain32" in table and "16×16" in table and "train " in table and str(src.resolve()) in table
    with pytest.raises(DataError, match="is not a folder"):
        run_cli("datasets", "--root", str(tmp_path / "nothing"))
    assert format_table([]) == "no prepared datasets"


# ---------------------------------------------------------------- wiring


def test_commands_plug_into_the_main_cli(tmp_path, capsys) -> None:
    import dcgan.cli as main_cli

    with pytest.raises(SystemExit) as info:
        main_cli.main(["datasets", "--root", str(tmp_path / "missing")])
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith("dcgan datasets: error: ")
    with pytest.raises(SystemExit) as info:
        main_cli.main(["download", "mnist", "--out", str(tmp_path), "--limit", "3"])
    assert info.value.code == 2 and "--limit applies to lsun only" in capsys.readouterr().err


def test_registering_the_commands_imports_nothing_heavy() -> None:
    code = (
        "import argparse, sys; from dcgan.cli.data import add_commands; "
        "p = argparse.ArgumentParser(); add_commands(p.add_subparsers()); "
        "print(sorted(m for m in ('tensorflow', 'keras', 'mtcnn', 'lmdb', 'imagehash') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert result.stdout.strip() == "[]"
