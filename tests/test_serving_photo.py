"""POST /api/invert: a photo in, its aligned face and z out (streamed), every bad photo a clear 4xx, and nothing of
the photo left on disk."""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile

import numpy as np
import pytest
from conftest import SHARED, running_server
from fastapi.testclient import TestClient
from PIL import Image

from dcgan.photos import MAX_PHOTO_BYTES
from dcgan.serving import MAX_UPLOAD_BYTES, create_app

pytest.importorskip("mtcnn")
RAW = SHARED / "raw-samples" / "celeba-aligned-89x109-1k.tar"
pytestmark = pytest.mark.skipif(not RAW.exists(), reason="needs ../shared/datasets/raw-samples")


@pytest.fixture(scope="module")
def photo() -> bytes:
    """A real face photo (a CelebA original, 89×109 JPEG)."""
    with tarfile.open(RAW) as tar:
        member = next(m for m in tar if m.isfile())
        return tar.extractfile(member).read()


@pytest.fixture(scope="module")
def client(inverted_model, tiny_model):
    with TestClient(create_app([inverted_model, tiny_model], web_dir=None)) as test_client:
        yield test_client


def events(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


def upload(client, data: bytes, **fields):
    return client.post("/api/invert", files={"photo": ("me.jpg", data, "image/jpeg")}, data=fields)


def test_a_photo_streams_its_faces_progress_and_z(client, photo) -> None:
    lines = events(upload(client, photo))
    assert [e["event"] for e in lines] == ["faces"] + ["progress"] * (len(lines) - 2) + ["done"]
    faces, done = lines[0], lines[-1]
    assert len(faces["faces"]) == 1 and faces["chosen"] == 0 and faces["photo_size"] == [89, 109]
    assert faces["crop"].startswith("data:image/png;base64,") and done["crop"] == faces["crop"]
    steps = [e["step"] for e in lines[1:-1]]
    assert steps == sorted(steps) and steps[-1] == lines[-2]["steps"] > 0
    z = np.asarray(done["z"])
    assert z.shape == (16,) and z.min() >= -1 and z.max() <= 1  # the tiny inverted model's uniform box
    assert set(done["scores"]) == {"psnr", "ssim", "perceptual"} and done["model"] == "tiny-photo"
    assert done["image"].startswith("data:image/png;base64,") and done["seconds"] > 0


def test_models_say_which_take_photos(client) -> None:
    photos = {m["name"]: m["photos"] for m in client.get("/api/models").json()["models"]}
    assert photos == {"tiny-photo": True, "tiny": False}


def gradient_png() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.tile(np.arange(200, dtype=np.uint8), (150, 1))).convert("RGB").save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("make", "fields", "status", "message"),
    [
        (lambda p: b"hello, not a photo", {}, 415, "not"),
        (lambda p: p[: len(p) // 2], {}, 415, "truncated"),
        (lambda p: gradient_png(), {}, 422, "no face"),
        (lambda p: p, {"face": "3"}, 422, "face 3"),
        (lambda p: p, {"face": "-1"}, 422, "whole number"),
        (lambda p: p, {"face": "one"}, 422, "whole number"),
        (lambda p: p, {"model": "nope"}, 404, "unknown model"),
        (lambda p: b"", {}, 422, "'photo'"),
    ],
)
def test_bad_photos_and_fields_get_a_clear_4xx(client, photo, make, fields, status, message) -> None:
    response = upload(client, make(photo), **fields)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert client.get("/api/health").status_code == 200


def test_a_model_without_encoder_and_requests_that_are_not_forms(client, photo, tiny_model) -> None:
    response = upload(client, photo, model="tiny")
    assert response.status_code == 404 and "dcgan encoder train" in response.json()["detail"]
    response = client.post("/api/invert", content=photo, headers={"content-type": "image/jpeg"})
    assert response.status_code == 415 and "multipart/form-data" in response.json()["detail"]
    response = client.post("/api/invert", files={"other": ("x.jpg", photo, "image/jpeg")})
    assert response.status_code == 422
    broken = b"--xyz\r\nContent-Disposition: form-data; name=photo\r\n\r\nabc"  # never closed
    response = client.post("/api/invert", content=broken, headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert response.status_code in (400, 415, 422)


def test_an_upload_over_the_limit_is_refused_before_it_is_read(client) -> None:
    response = client.post(
        "/api/invert",
        content=b"x",
        headers={"content-type": "multipart/form-data; boundary=x", "content-length": str(MAX_UPLOAD_BYTES + 1)},
    )
    assert response.status_code == 413
    over = os.urandom(MAX_PHOTO_BYTES + 1000)  # the body fits, the photo does not
    response = upload(client, over)
    assert response.status_code == 413 and "limit" in response.json()["detail"]


def test_no_file_of_the_photo_is_written_during_an_upload(inverted_model, photo, tmp_path) -> None:
    """The server, run in its own working folder with its own temp folder, leaves both as they were: the photo
    (1.7 MB here, past the usual spill-to-disk threshold) is processed in memory only."""
    import httpx2

    work, temp = tmp_path / "cwd", tmp_path / "tmp"
    work.mkdir(), temp.mkdir()
    image = Image.open(io.BytesIO(photo)).resize((1780, 2180), Image.Resampling.BICUBIC)
    big = io.BytesIO()
    image.save(big, "PNG")
    assert len(big.getvalue()) > 1_500_000  # past the 1 MiB at which form parsers spill uploads to disk
    env = {**os.environ, "TMPDIR": str(temp), "TEMP": str(temp), "TMP": str(temp)}

    def files() -> set[tuple[str, int]]:
        return {(str(p), p.stat().st_size) for root in (work, temp) for p in root.rglob("*")}

    command = (sys.executable, "-m", "dcgan.cli")
    with running_server(inverted_model, tmp_path / "server.log", cwd=work, env=env, dcgan=command) as url:
        before = files()
        response = httpx2.post(
            f"{url}/api/invert", files={"photo": ("me.png", big.getvalue(), "image/png")}, timeout=120
        )
        lines = [json.loads(line) for line in response.text.splitlines()]
        assert lines[-1]["event"] == "done", response.text
        assert files() == before
    assert b"IHDR" not in (tmp_path / "server.log").read_bytes()
