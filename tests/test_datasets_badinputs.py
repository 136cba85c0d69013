"""Bad inputs for `dcgan prepare` and `dcgan faces`: each one a clear error or a counted skip, never a crash
halfway or a half-written output."""

from __future__ import annotations

import os
import pathlib
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dcgan.data import Cache, PrepareOptions, prepare
from dcgan.datasets.faces import FaceOptions, build_faces, load_rgb
from dcgan.errors import DataError


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width×height pixels (a cheap decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def make_bad_folder(root: Path) -> dict[str, set[str]]:
    """Every awkward input; returns the expected outcome of each file name."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    rgb = np.asarray(Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).resize((80, 60)))
    Image.fromarray(rgb).save(root / "ok.jpg", quality=90)
    Image.fromarray(rgb).convert("CMYK").save(root / "cmyk.jpg")
    Image.fromarray((np.arange(60 * 80).reshape(60, 80) * 13).astype(np.uint16)).save(root / "gray16.png")
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(root / "palette.png")
    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE)
    palette.info["transparency"] = 0
    palette.save(root / "palette_transparent.png", transparency=0)
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 100, np.uint8)])).save(root / "rgba.png")
    Image.fromarray(rgb).convert("LA").save(root / "la.png")
    Image.fromarray(rgb).convert("1").save(root / "bilevel.png")
    Image.fromarray(rng.random((60, 80)).astype(np.float32)).save(root / "float.tif")
    (root / "folder.jpg").mkdir()  # a folder named like an image, holding one
    Image.fromarray(rgb).save(root / "folder.jpg" / "inner.png")
    data = (root / "ok.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (root / "empty.jpg").write_bytes(b"")
    (root / "text.jpg").write_text("this is not a JPEG")
    (root / "html.png").write_bytes(b"<!DOCTYPE html><html>quota</html>")
    (root / "huge_header.png").write_bytes(png_header_only(100_000, 100_000))  # 10 G pixels claimed
    (root / "just_over_limit.png").write_bytes(png_header_only(10_000, 9_000))  # 90 M > 89.5 M pixels
    (root / "notes.txt").write_text("not an image")
    (root / "archive.zip").write_bytes(b"PK\x03\x04")
    ok = {
        "ok.jpg",
        "cmyk.jpg",
        "gray16.png",
        "palette.png",
        "palette_transparent.png",
        "rgba.png",
        "la.png",
        "bilevel.png",
        "float.tif",
        "folder.jpg/inner.png",
    }
    unreadable = {"truncated.jpg", "empty.jpg", "text.jpg", "html.png", "huge_header.png", "just_over_limit.png"}
    return {"ok": ok, "unreadable": unreadable, "not_image": {"notes.txt", "archive.zip"}}


def test_prepare_counts_every_bad_input(tmp_path) -> None:
    expected = make_bad_folder(tmp_path / "src")
    manifest = prepare(tmp_path / "src", tmp_path / "cache", PrepareOptions(size=16), workers=1, progress=False)
    assert set(manifest["files"]) == expected["ok"]
    reasons = {s["file"]: s["reason"] for s in manifest["skipped"]}
    assert set(reasons) == expected["unreadable"] | expected["not_image"]
    assert all(reasons[f].startswith("unreadable image") for f in expected["unreadable"])
    assert "exceeds limit" in reasons["huge_header.png"] and "exceeds limit" in reasons["just_over_limit.png"]
    assert manifest["skipped_by_reason"] == {"unreadable image": 6, "not an image file": 2}
    images = Cache.open(tmp_path / "cache").images
    assert images.shape == (10, 16, 16, 3)
    rgba = images[manifest["files"].index("rgba.png")].astype(int)
    assert rgba.mean() > images[manifest["files"].index("ok.jpg")].astype(int).mean()  # composited on white


def test_faces_counts_every_bad_input(tmp_path) -> None:
    class NoFaces:
        def detect(self, image: np.ndarray) -> list:
            assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
            return []

    expected = make_bad_folder(tmp_path / "src")
    os.symlink(tmp_path / "gone.jpg", tmp_path / "src" / "dangling.jpg")
    manifest = build_faces(tmp_path / "src", tmp_path / "faces", FaceOptions(), NoFaces(), progress=False)
    reasons = {s["file"]: s["reason"] for s in manifest["skipped"]}
    assert {f for f, r in reasons.items() if r == "no face found"} == expected["ok"]
    assert {f for f, r in reasons.items() if r.startswith("unreadable image")} == expected["unreadable"]
    assert {f for f, r in reasons.items() if r.startswith("not an image file")} == expected["not_image"]
    assert reasons["dangling.jpg"].startswith("unreadable file")
    assert manifest["counts"] == {"files": 19, "photos": 10, "faces_found": 0, "faces_written": 0}
    assert manifest["skipped_by_reason"] == {
        "no face found": 10,
        "unreadable image": 6,
        "not an image file": 2,
        "unreadable file": 1,
    }
    assert sorted(p.name for p in (tmp_path / "faces").iterdir()) == ["faces.json"]


def test_load_rgb_normalises_modes(tmp_path) -> None:
    make_bad_folder(tmp_path / "src")
    for name in ("cmyk.jpg", "gray16.png", "palette_transparent.png", "rgba.png", "la.png", "bilevel.png", "float.tif"):
        image = load_rgb((tmp_path / "src" / name).read_bytes())
        assert image.mode == "RGB" and image.size == (80, 60), name
    gray16 = np.asarray(load_rgb((tmp_path / "src" / "gray16.png").read_bytes()))
    assert gray16.min() == 0 and gray16.max() == 255  # 16-bit scaled to the full 8-bit range, not clipped


def test_empty_and_image_free_folders_are_clear_errors(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("x")
    for src in (tmp_path / "empty", tmp_path / "texts"):
        with pytest.raises(DataError, match="no image files"):
            prepare(src, tmp_path / "cache", PrepareOptions(), workers=1, progress=False)
        with pytest.raises(DataError, match="no image files"):
            build_faces(src, tmp_path / "faces", FaceOptions(), detector=object(), progress=False)
    assert not (tmp_path / "cache").exists() and not (tmp_path / "faces").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "texts"]


def test_faces_interrupted_halfway_leaves_no_output(tmp_path) -> None:
    class Interrupting:
        calls = 0

        def detect(self, image: np.ndarray) -> list:
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt
            return []

    make_bad_folder(tmp_path / "src")
    with pytest.raises(KeyboardInterrupt):
        build_faces(tmp_path / "src", tmp_path / "faces", FaceOptions(), Interrupting(), progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


# ---------------------------------------------------------------- unreadable entries are skipped, not fatal


def test_prepare_skips_a_dangling_symlink(tmp_path) -> None:
    make_bad_folder(tmp_path / "src")
    os.symlink(tmp_path / "gone.jpg", tmp_path / "src" / "dangling.jpg")
    manifest = prepare(tmp_path / "src", tmp_path / "cache", PrepareOptions(size=16), workers=1, progress=False)
    assert "dangling.jpg" in {s["file"] for s in manifest["skipped"]}


def test_prepare_skips_an_unreadable_file(tmp_path, monkeypatch) -> None:
    make_bad_folder(tmp_path / "src")
    real = pathlib.Path.read_bytes

    def read_bytes(self):
        if self.name == "palette.png":
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(pathlib.Path, "read_bytes", read_bytes)
    manifest = prepare(tmp_path / "src", tmp_path / "cache", PrepareOptions(size=16), workers=1, progress=False)
    assert "palette.png" in {s["file"] for s in manifest["skipped"]}
    assert not (tmp_path / ".cache.tmp").exists()
