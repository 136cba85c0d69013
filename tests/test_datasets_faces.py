"""`dcgan faces`: eye alignment, thresholds, duplicates, counted skips; MTCNN on real photos with known counts."""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES
from PIL import Image

from dcgan.cli.data import add_commands
from dcgan.datasets.faces import (
    EYE_TEMPLATE,
    Face,
    FaceDetector,
    FaceOptions,
    MtcnnDetector,
    align_face,
    alignment,
    build_faces,
    eye_targets,
)
from dcgan.errors import DataError

pytest.importorskip("imagehash")  # the `datasets` extra: pip install -e ".[datasets]"

CELEBA = ["celeba-182640.jpg", "celeba-182642.jpg", "celeba-182643.jpg"]


# ---------------------------------------------------------------- the transform


@pytest.mark.parametrize("angle", [-35.0, -5.0, 0.0, 12.0, 40.0])
@pytest.mark.parametrize("margin", [0.0, 0.25])
def test_alignment_sends_the_eyes_to_level_fixed_targets(angle, margin) -> None:
    rng = np.random.default_rng(int(angle * 10 + margin * 100) % 2**32)
    left = tuple(rng.uniform(50, 400, 2))
    distance = rng.uniform(10, 120)
    right = (left[0] + distance * math.cos(math.radians(angle)), left[1] + distance * math.sin(math.radians(angle)))
    matrix = alignment(left, right, 64, margin)
    q1, q2 = eye_targets(64, margin)
    for eye, target in ((left, q1), (right, q2)):
        mapped = apply_inverse(matrix, (eye[0] + 0.5, eye[1] + 0.5))
        assert mapped == pytest.approx(target, abs=1e-6)
    assert q1[1] == q2[1]  # level
    core = 64 / (1 + 2 * margin)
    assert q2[0] - q1[0] == pytest.approx((EYE_TEMPLATE[1][0] - EYE_TEMPLATE[0][0]) * core)
    with pytest.raises(ValueError, match="same point"):
        alignment(left, left, 64)


def apply_inverse(matrix: tuple[float, ...], point: tuple[float, float]) -> tuple[float, float]:
    """Where an input point lands in the output of `alignment` (its inverse; continuous coordinates)."""
    a, b, c, d, e, f = matrix
    det = a * e - b * d
    x, y = point[0] - c, point[1] - f
    return ((e * x - b * y) / det, (-d * x + a * y) / det)


def dots_image(left, right, size=(600, 500)) -> Image.Image:
    """A gray picture with a red dot at `left` and a blue dot at `right`."""
    array = np.full((size[1], size[0], 3), 128, np.uint8)
    yy, xx = np.mgrid[: size[1], : size[0]]
    for (x, y), color in ((left, (255, 0, 0)), (right, (0, 0, 255))):
        array[(xx - x) ** 2 + (yy - y) ** 2 <= 16] = color
    return Image.fromarray(array)


@pytest.mark.parametrize("angle", [-30.0, 0.0, 25.0])
def test_aligned_crop_has_level_eyes_at_the_template(angle) -> None:
    left = (250.0, 250.0)
    right = (left[0] + 80 * math.cos(math.radians(angle)), left[1] + 80 * math.sin(math.radians(angle)))
    face = Face((200, 200, 160, 200), 0.99, left, right)
    crop, outside = align_face(dots_image(left, right), face, 64)
    array = np.asarray(crop).astype(int)
    found = []
    for channel in (0, 2):
        other = 2 - channel
        mask = (array[..., channel] > 180) & (array[..., other] < 100)
        ys, xs = np.nonzero(mask)
        found.append((xs.mean() + 0.5, ys.mean() + 0.5))
    (lx, ly), (rx, ry) = found
    (tx1, ty1), (tx2, _) = eye_targets(64)
    assert abs(ly - ry) < 0.6 and abs(lx - tx1) < 0.6 and abs(rx - tx2) < 0.6 and abs(ly - ty1) < 0.6
    assert outside == 0.0


# ---------------------------------------------------------------- the builder, with a scripted detector


class ScriptedDetector:
    """Returns the faces scripted for each image size (w, h); records the shapes it was given."""

    def __init__(self, script: dict[tuple[int, int], list[Face]], fail_on: tuple[int, int] | None = None) -> None:
        self.script, self.fail_on, self.seen = script, fail_on, []

    def detect(self, image: np.ndarray) -> list[Face]:
        size = (image.shape[1], image.shape[0])
        self.seen.append(size)
        if size == self.fail_on:
            raise RuntimeError("detector exploded")
        return list(self.script.get(size, []))


def face_at(x: float, y: float, eye_distance: float = 40, score: float = 0.99, box_side: float = 100) -> Face:
    return Face(
        (x - box_side / 2, y - box_side / 2, box_side, box_side),
        score,
        (x - eye_distance / 2, y),
        (x + eye_distance / 2, y),
        {"nose": (x, y + 15)},
    )


def photo(path: Path, size: tuple[int, int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    array = (rng.random((size[1] // 8, size[0] // 8, 3)) * 255).astype(np.uint8)
    Image.fromarray(array).resize(size, Image.Resampling.BICUBIC).save(path, quality=92)


def test_builder_thresholds_duplicates_and_manifest(tmp_path, capsys) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    photo(src / "a.jpg", (400, 300), 1)
    photo(src / "b.jpg", (401, 300), 2)
    shutil.copy(src / "a.jpg", src / "a_copy.jpg")
    photo(src / "nested.jpg", (402, 300), 3)
    photo(src / "boom.jpg", (403, 300), 4)
    photo(src / "empty_scene.jpg", (404, 300), 5)
    (src / "notes.txt").write_text("not a photo")
    (src / "broken.jpg").write_bytes((src / "a.jpg").read_bytes()[:300])
    script = {
        (400, 300): [face_at(200, 150), face_at(330, 150, score=0.5)],  # one good, one low score
        (401, 300): [face_at(100, 120), face_at(300, 150, eye_distance=12, box_side=30)],  # good + too small
        (402, 300): [face_at(8, 8)],  # mostly outside the photo
    }
    detector = ScriptedDetector(script, fail_on=(403, 300))
    assert isinstance(detector, FaceDetector)
    manifest = build_faces(src, tmp_path / "out", FaceOptions(size=32, min_face=40), detector, progress=True)
    reasons = manifest["skipped_by_reason"]
    assert reasons == {
        "low detector score": 2,
        "face too small": 1,
        "crop outside the photo": 1,
        "near-duplicate": 1,
        "no face found": 1,
        "detector failed": 1,
        "unreadable image": 1,
        "not an image file": 1,
    }
    assert manifest["counts"] == {"files": 8, "photos": 6, "faces_found": 7, "faces_written": 2}
    written = {f["file"]: f for f in manifest["faces"]}
    assert set(written) == {"a.jpg", "b.jpg"}
    record = written["a.jpg"]
    assert record["box"] == [150.0, 100.0, 100.0, 100.0] and record["score"] == 0.99
    assert record["landmarks"]["left_eye"] == [180.0, 150.0] and "nose" in record["landmarks"]
    assert Image.open(tmp_path / "out" / record["output"]).size == (32, 32)
    dup = [s for s in manifest["skipped"] if s["reason"].startswith("near-duplicate")]
    assert {s["file"] for s in dup} == {"a_copy.jpg"} and record["output"] in dup[0]["reason"]
    assert json.loads((tmp_path / "out" / "faces.json").read_text()) == manifest
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        ["faces.json", *(f["output"] for f in manifest["faces"])]
    )
    assert "2 written" in capsys.readouterr().out
    with pytest.raises(DataError, match="use --force"):
        build_faces(src, tmp_path / "out", FaceOptions(size=32), detector, progress=False)
    again = build_faces(
        src,
        tmp_path / "out",
        FaceOptions(size=32, dup_distance=-1, image_format="jpg"),
        detector,
        force=True,
        progress=False,
    )
    assert again["counts"]["faces_written"] == 3  # the duplicate is kept when the check is off
    assert all(f["output"].endswith(".jpg") for f in again["faces"])
    assert not list(tmp_path.glob(".out.tmp"))


def test_big_photos_are_detected_scaled_down_and_cropped_at_full_resolution(tmp_path) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    photo(src / "big.jpg", (2400, 1600), 7)
    detector = ScriptedDetector({(1024, 683): [face_at(500, 300, eye_distance=50, box_side=120)]})
    manifest = build_faces(src, tmp_path / "out", FaceOptions(size=64), detector, progress=False)
    assert detector.seen == [(1024, 683)]
    (face,) = manifest["faces"]
    scale = 2400 / 1024
    assert face["landmarks"]["left_eye"] == pytest.approx([475 * scale, 300 * scale], abs=0.1)
    assert face["box"][2] == pytest.approx(120 * scale, abs=0.1)


def test_builder_errors(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no image files"):
        build_faces(tmp_path / "empty", tmp_path / "out", detector=ScriptedDetector({}), progress=False)
    with pytest.raises(DataError, match="does not exist"):
        build_faces(tmp_path / "missing", tmp_path / "out", detector=ScriptedDetector({}), progress=False)
    for bad, message in (
        ({"size": 4}, "--size"),
        ({"margin": -1}, "--margin"),
        ({"min_score": 2}, "--min-score"),
        ({"image_format": "gif"}, "--format"),
        ({"max_outside": 3}, "--max-outside"),
    ):
        with pytest.raises(DataError, match=message):
            build_faces(tmp_path / "empty", tmp_path / "out", FaceOptions(**bad), ScriptedDetector({}))
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- MTCNN on real photographs


@pytest.fixture(scope="module")
def mtcnn() -> MtcnnDetector:
    pytest.importorskip("mtcnn")
    pytest.importorskip("imagehash")
    return MtcnnDetector()  # TensorFlow's thread settings are process-wide: leave them to the other tests


def test_mtcnn_known_face_counts_and_level_eyes(tmp_path, mtcnn) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    shutil.copy(FIXTURES / "astronaut.jpg", src / "astronaut.jpg")
    for name in CELEBA:
        shutil.copy(FIXTURES / name, src / name)
    canvas = Image.new("RGB", (720, 300), (120, 130, 140))
    pasted = []
    for i, name in enumerate(CELEBA):
        face = Image.open(FIXTURES / name).convert("RGB")
        x, y = 20 + i * 240, 300 - face.height - 20 * (i % 2)
        canvas.paste(face, (x, y))
        pasted.append((x, y, x + face.width, y + face.height))
    canvas.save(src / "group.jpg", quality=92)
    Image.open(FIXTURES / CELEBA[0]).convert("RGB").rotate(20, expand=True, fillcolor=(90, 90, 90)).save(
        src / "tilted.jpg", quality=92
    )
    for name in ("coffee.jpg", "brick.jpg"):
        shutil.copy(FIXTURES / name, src / name)
    yy, xx = np.mgrid[:200, :300]
    Image.fromarray(np.dstack([xx * 255 // 300, yy * 255 // 200, np.full_like(xx, 128)]).astype(np.uint8)).save(
        src / "gradient.png"
    )

    manifest = build_faces(src, tmp_path / "faces", FaceOptions(size=96, dup_distance=-1), mtcnn, progress=False)
    per_file: dict[str, int] = {}
    for face in manifest["faces"]:
        per_file[face["file"]] = per_file.get(face["file"], 0) + 1
    assert per_file == {"astronaut.jpg": 1, **dict.fromkeys(CELEBA, 1), "group.jpg": 3, "tilted.jpg": 1}
    assert manifest["skipped_by_reason"] == {"no face found": 3}
    assert {s["file"] for s in manifest["skipped"]} == {"coffee.jpg", "brick.jpg", "gradient.png"}
    group = sorted((f for f in manifest["faces"] if f["file"] == "group.jpg"), key=lambda f: f["box"][0])
    for face, (x0, y0, x1, y1) in zip(group, pasted, strict=True):
        bx, by, bw, bh = face["box"]
        assert x0 <= bx + bw / 2 <= x1 and y0 <= by + bh / 2 <= y1  # each detection sits on a pasted face
    tilted = next(f for f in manifest["faces"] if f["file"] == "tilted.jpg")
    assert abs(tilted["roll_degrees"]) > 10  # the photo was tilted, the crop is levelled below

    (tx1, ty1), (tx2, _) = eye_targets(96)
    for face in manifest["faces"]:
        crop = np.asarray(Image.open(tmp_path / "faces" / face["output"]))
        again = mtcnn.detect(crop)
        assert len(again) == 1, face["output"]
        (lx, ly), (rx, ry) = again[0].left_eye, again[0].right_eye
        roll = math.degrees(math.atan2(ry - ly, rx - lx))
        assert abs(roll) < 6, (face["output"], roll)  # level eyes
        assert abs(lx + 0.5 - tx1) < 6 and abs(rx + 0.5 - tx2) < 6 and abs((ly + ry) / 2 + 0.5 - ty1) < 6


def test_mtcnn_near_duplicates_are_skipped(tmp_path, mtcnn) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    shutil.copy(FIXTURES / CELEBA[1], src / "a.jpg")
    original = Image.open(FIXTURES / CELEBA[1]).convert("RGB")
    original.resize((int(original.width * 1.3), int(original.height * 1.3)), Image.Resampling.LANCZOS).save(
        src / "b_resized_copy.jpg", quality=80
    )
    shutil.copy(FIXTURES / CELEBA[2], src / "c_other_person.jpg")
    manifest = build_faces(src, tmp_path / "faces", FaceOptions(size=64), mtcnn, progress=False)
    assert [f["file"] for f in manifest["faces"]] == ["a.jpg", "c_other_person.jpg"]
    assert manifest["skipped_by_reason"] == {"near-duplicate": 1}


def test_faces_command(tmp_path, mtcnn, capsys) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    shutil.copy(FIXTURES / "astronaut.jpg", src / "astronaut.jpg")
    (src / "readme.txt").write_text("x")
    parser = argparse.ArgumentParser(prog="dcgan")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(
        ["faces", str(src), "--out", str(tmp_path / "crops"), "--size", "48", "--margin", "0.1", "--format", "jpg"]
    )
    args.func(args)
    out = capsys.readouterr().out
    assert "1 faces found, 1 written" in out and "skipped by reason: {'not an image file': 1}" in out
    assert f"next: dcgan prepare {tmp_path / 'crops'} --out data/crops48 --size 48 --crop none" in out
    (crop,) = (tmp_path / "crops").glob("*.jpg")
    assert Image.open(crop).size == (48, 48)
    manifest = json.loads((tmp_path / "crops" / "faces.json").read_text())
    assert manifest["options"]["margin"] == 0.1 and manifest["detector"] == "MtcnnDetector"
