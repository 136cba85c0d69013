"""`prepare`: formats, bad inputs counted not fatal, no-op re-runs, splits, tar sources, batches."""

from __future__ import annotations

import io
import json
import tarfile

import numpy as np
import pytest
from conftest import blob_images
from PIL import Image

from dcgan.data import BatchSource, Cache, PrepareOptions, prepare
from dcgan.errors import DataError
from dcgan.splits import split_of


def make_folder(root) -> dict[str, int]:
    """Every kind of input the issue names; returns expected counts."""
    (root / "nested" / "deeper").mkdir(parents=True)
    rgb = blob_images(1, 80)[0]
    Image.fromarray(rgb).save(root / "a.jpg", quality=90)
    Image.fromarray(rgb).save(root / "nested" / "b.png")
    Image.fromarray(rgb).save(root / "nested" / "deeper" / "c.webp")
    Image.fromarray(rgb).save(root / "d.bmp")
    frames = [Image.fromarray(rgb), Image.fromarray(255 - rgb)]
    frames[0].save(root / "e.gif", save_all=True, append_images=frames[1:])
    Image.fromarray(rgb).convert("CMYK").save(root / "f_cmyk.jpg")
    Image.fromarray((np.arange(80 * 60).reshape(60, 80) * 13).astype(np.uint16)).save(root / "g_16bit.png")
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(root / "h_palette.png")
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(root / "i_alpha.png")
    Image.fromarray(rgb).convert("L").save(root / "j_gray.jpg")
    data = (root / "a.jpg").read_bytes()
    (root / "k_truncated.jpg").write_bytes(data[: len(data) // 3])
    (root / "l_corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    (root / "m_empty.jpg").write_bytes(b"")
    (root / "notes.txt").write_text("not an image")
    return {"ok": 10, "unreadable": 3, "not_image": 1}


def test_prepare_handles_every_format_and_counts_skips(tmp_path) -> None:
    src = tmp_path / "src"
    expected = make_folder(src)
    manifest = prepare(src, tmp_path / "cache", PrepareOptions(size=32), workers=2, progress=False)
    cache = Cache.open(tmp_path / "cache")
    assert cache.images.shape == (expected["ok"], 32, 32, 3)
    assert manifest["count"] == expected["ok"]
    assert manifest["skipped_count"] == expected["unreadable"] + expected["not_image"]
    reasons = {s["file"]: s["reason"] for s in manifest["skipped"]}
    assert set(reasons) == {"k_truncated.jpg", "l_corrupt.png", "m_empty.jpg", "notes.txt"}
    assert all(r.startswith("unreadable image") for f, r in reasons.items() if f != "notes.txt")
    assert reasons["m_empty.jpg"] == "unreadable image: not in a format Pillow can read"  # no memory address
    assert manifest["skipped_by_reason"] == {"unreadable image": 3, "not an image file": 1}
    assert "nested/deeper/c.webp" in manifest["files"]
    alpha = cache.images[manifest["files"].index("i_alpha.png")]
    assert alpha.mean() > cache.images[manifest["files"].index("a.jpg")].mean()  # composited on white


def test_rerun_on_unchanged_source_is_a_noop(tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for i, image in enumerate(blob_images(5, 40)):
        Image.fromarray(image).save(src / f"{i}.png")
    prepare(src, tmp_path / "cache", PrepareOptions(size=32), workers=1)
    stamp = (tmp_path / "cache" / "images.npy").stat().st_mtime_ns
    prepare(src, tmp_path / "cache", PrepareOptions(size=32), workers=1)
    assert (tmp_path / "cache" / "images.npy").stat().st_mtime_ns == stamp
    Image.fromarray(blob_images(1, 40, seed=9)[0]).save(src / "new.png")
    assert prepare(src, tmp_path / "cache", PrepareOptions(size=32), workers=1)["count"] == 6


def test_grayscale_and_no_crop(tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    Image.fromarray(blob_images(1, 40)[0]).resize((60, 30)).save(src / "wide.png")
    prepare(src, tmp_path / "cache", PrepareOptions(size=32, crop="none", grayscale=True), workers=1)
    assert Cache.open(tmp_path / "cache").images.shape == (1, 32, 32, 1)


def test_decompression_bomb_is_skipped(tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    Image.new("L", (10_000, 10_000)).save(src / "huge.png")  # 100 M pixels, a few hundred KB compressed
    Image.fromarray(blob_images(1, 40)[0]).save(src / "fine.png")
    manifest = prepare(src, tmp_path / "cache", PrepareOptions(size=32), workers=1, progress=False)
    assert manifest["count"] == 1
    assert "huge.png" in {s["file"] for s in manifest["skipped"]}


def test_empty_or_missing_source_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no image files"):
        prepare(tmp_path / "empty", tmp_path / "cache", PrepareOptions(), workers=1)
    with pytest.raises(DataError, match="does not exist"):
        prepare(tmp_path / "missing", tmp_path / "cache", PrepareOptions(), workers=1)
    assert not (tmp_path / "cache").exists()


def test_split_is_deterministic_and_stable(tmp_path) -> None:
    names = [f"img_{i:05d}.jpg" for i in range(2000)]
    first = {n: split_of(n, (0.8, 0.1, 0.1), seed=3) for n in names}
    assert first == {n: split_of(n, (0.8, 0.1, 0.1), seed=3) for n in names}
    counts = {s: list(first.values()).count(s) for s in ("train", "val", "test")}
    assert 1500 < counts["train"] < 1700 and 150 < counts["val"] < 250 and 150 < counts["test"] < 250
    more = names + [f"new_{i}.jpg" for i in range(500)]
    assert all(split_of(n, (0.8, 0.1, 0.1), seed=3) == first[n] for n in names)  # adding files moves none
    assert len(more) == 2500


def test_prepare_from_tar_with_split(tmp_path) -> None:
    archive = tmp_path / "faces.tar"
    with tarfile.open(archive, "w") as tar:
        for i, image in enumerate(blob_images(40, 40)):
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, format="JPEG", quality=95)
            info = tarfile.TarInfo(f"faces/{i:04d}.jpg")
            info.size = buffer.tell()
            buffer.seek(0)
            tar.addfile(info, buffer)
    manifest = prepare(archive, tmp_path / "cache", PrepareOptions(size=32), split="0.5,0.25,0.25", workers=1)
    counts = {s: len(Cache.open(tmp_path / "cache" / s).images) for s in ("train", "val", "test")}
    assert sum(counts.values()) == 40 == manifest["count"]
    assert counts == manifest["counts"]
    files = {s: json.loads((tmp_path / "cache" / s / "manifest.json").read_text())["files"] for s in counts}
    assert not set(files["train"]) & set(files["test"])
    with pytest.raises(DataError, match="split cache: use"):
        Cache.open(tmp_path / "cache")


def test_cache_shape_mismatch_message(tiny_cache) -> None:
    with pytest.raises(DataError, match=r"holds 32×32×3 images but the model expects 64×64×3.*--image-size 32"):
        Cache.open(tiny_cache).check_shape(64, 3)


def test_a_cache_gives_the_model_shape_only_when_a_model_can_have_it(tiny_cache, tmp_path) -> None:
    assert Cache.open(tiny_cache).model_shape() == {"image_size": 32, "channels": 3}
    for shape in [(2, 48, 48, 3), (2, 32, 64, 3), (2, 64, 64, 4)]:
        np.save(tmp_path / "images.npy", np.zeros(shape, np.uint8))
        assert Cache.open(tmp_path).model_shape() == {}


def test_batches_are_a_function_of_seed_and_step(tiny_cache) -> None:
    images = Cache.open(tiny_cache).images
    a, b = BatchSource(images, 8, seed=5, flip=True), BatchSource(images, 8, seed=5, flip=True)
    np.testing.assert_array_equal(a.batch(11), b.batch(11))
    assert not np.array_equal(a.batch(11), a.batch(12))
    epoch = np.concatenate([BatchSource(images, 8, seed=5, flip=False).batch(s) for s in range(8)])
    assert sorted(map(bytes, epoch)) == sorted(map(bytes, np.asarray(images)))  # each image once per epoch


@pytest.mark.parametrize("made_by", ["faces", "crawl"])
def test_prepare_carries_each_image_s_source_into_the_manifests(tmp_path, made_by) -> None:
    """A folder from `dcgan faces` (faces.json) or `dcgan crawl` (crawl.json): every image of the caches keeps the
    page it came from."""
    src = tmp_path / "src"
    src.mkdir()
    for i, image in enumerate(blob_images(4, 16)):
        Image.fromarray(image).save(src / f"img{i}.png")
    source = {
        "url": "http://example.org/a.jpg",
        "page_url": "http://example.org/",
        "fetched_at": "2026-11-30T00:00:00Z",
        "status": 200,
        "license": "https://creativecommons.org/licenses/by/4.0/",
        "sha256": "ab",
    }
    if made_by == "faces":
        records = [{"output": "img0.png", "source": source}, {"output": "img1.png"}]
        (src / "faces.json").write_text(json.dumps({"faces": records}))
    else:
        records = [{"file": "img0.png", **source, "extra": 1}]
        (src / "crawl.json").write_text(json.dumps({"images": records}))
    manifest = prepare(src, tmp_path / "one", PrepareOptions(size=16), progress=False)
    assert manifest["sources"] == {"img0.png": source}
    prepare(src, tmp_path / "split", PrepareOptions(size=16), split="0.5,0.25,0.25", progress=False)
    found = {}
    for part in ("train", "val", "test"):
        found.update(json.loads((tmp_path / "split" / part / "manifest.json").read_text()).get("sources", {}))
    assert found == {"img0.png": source}
