"""The HTTP API: every endpoint, every bad input gets a 4xx with a message, micro-batching, limits."""

from __future__ import annotations

import asyncio
import base64
import io
import re

import httpx2
import numpy as np
import pytest
from conftest import running_server
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from dcgan.serving import MAX_BATCH, MAX_BODY_BYTES, create_app


@pytest.fixture(scope="module")
def client(tiny_model, tmp_path_factory):
    web = tmp_path_factory.mktemp("web")
    (web / "index.html").write_text("<html><body>studio</body></html>")
    (tmp_path_factory.getbasetemp() / "secret.txt").write_text("secret")
    with TestClient(create_app([tiny_model], web_dir=web)) as test_client:
        yield test_client


def decode_data_url(url: str) -> np.ndarray:
    assert url.startswith("data:image/png;base64,")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_health_and_models(client) -> None:
    assert client.get("/api/health").json() == {"status": "ok", "models": ["tiny"]}
    info = client.get("/api/models").json()
    assert info["default"] == "tiny"
    assert info["models"][0]["z"] == {"dim": 16, "prior": "normal", "low": -3.0, "high": 3.0}
    assert info["models"][0]["image_size"] == 32 and info["models"][0]["provenance"]["step"] == 4
    summary = info["models"][0]["summary"]  # what the page's "About model" shows: no test metrics for this one
    assert summary["images_seen"] == 32 and summary["data"].endswith("blobs32") and summary["fid"] is None
    assert "/api/generate" in client.get("/openapi.json").json()["paths"]


def test_generate_png_and_batch(client, tiny_model) -> None:
    from dcgan import load_generator

    model = load_generator(tiny_model)
    z = model.sample_z(3, seed=1)
    response = client.post("/api/generate", json={"z": z[0].tolist()})
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = np.asarray(Image.open(io.BytesIO(response.content)))
    np.testing.assert_array_equal(image, model.generate(z[0])[0])
    big = client.post("/api/generate", json={"z": z[0].tolist(), "scale": 4, "resample": "lanczos"})
    assert Image.open(io.BytesIO(big.content)).size == (128, 128)
    batch = client.post("/api/generate", json={"z": z.tolist()}).json()
    assert len(batch["images"]) == 3
    np.testing.assert_array_equal(decode_data_url(batch["images"][2]), model.generate(z[2])[0])


def test_random_is_reproducible(client) -> None:
    first, again = client.get("/api/random?seed=7").json(), client.get("/api/random", params={"seed": 7}).json()
    assert first == again and first["seed"] == 7 and len(first["z"]) == 16
    unseeded = [client.get("/api/random").json() for _ in range(2)]
    assert unseeded[0]["seed"] != unseeded[1]["seed"] and unseeded[0]["z"] != unseeded[1]["z"]  # a new face each time
    replay = client.get("/api/random", params={"seed": unseeded[0]["seed"]}).json()
    assert replay == unseeded[0]  # the seed it reports gives that face back
    assert first["truncation"] == 1.0  # the tiny bundle has no default truncation


def test_random_truncation_pulls_the_same_face_toward_the_centre(client, tiny_model) -> None:
    from dcgan import load_generator
    from dcgan.z import seeded_z

    full = client.get("/api/random", params={"seed": 3}).json()
    pulled = client.get("/api/random", params={"seed": 3, "truncation": 0.5}).json()
    assert pulled["truncation"] == 0.5
    contract = load_generator(tiny_model).z_contract
    np.testing.assert_array_equal(full["z"], seeded_z(contract, 3))  # the z the page draws for seed 3
    np.testing.assert_array_equal(pulled["z"], seeded_z(contract, 3, 0.5))
    inside = np.abs(full["z"]) < 3  # the normal prior's draws past ±3 were clipped
    np.testing.assert_allclose(np.asarray(pulled["z"])[inside], 0.5 * np.asarray(full["z"])[inside], atol=1e-6)
    assert pulled["image"] != full["image"]
    assert client.get("/api/models").json()["models"][0]["truncation"] == 1.0


def test_interpolate_and_arithmetic(client, tiny_model) -> None:
    from dcgan import load_generator

    model = load_generator(tiny_model)
    a, b = [-1.0] * 16, [1.0] * 16
    frames = client.post("/api/interpolate", json={"a": a, "b": b, "steps": 5, "method": "linear"}).json()
    assert len(frames["images"]) == 5 and frames["z"][2] == [0.0] * 16
    np.testing.assert_array_equal(decode_data_url(frames["images"][2]), model.generate(np.zeros(16, np.float32))[0])
    end = [1.0] + [0.5] * 15
    spherical = client.post("/api/interpolate", json={"a": a, "b": end, "method": "spherical"}).json()
    assert len(spherical["images"]) == 8
    np.testing.assert_allclose([spherical["z"][0], spherical["z"][-1]], [a, end], atol=1e-6)  # from a to b
    result = client.post("/api/arithmetic", json={"a": [[1.0] * 16, [0.0] * 16], "b": [[0.5] * 16], "c": [[0.25] * 16]})
    assert result.status_code == 200
    np.testing.assert_allclose(result.json()["z"], [0.25] * 16)  # mean(a) - mean(b) + mean(c)
    face = model.generate(np.asarray(result.json()["z"], np.float32))[0]
    np.testing.assert_array_equal(decode_data_url(result.json()["image"]), face)
    clipped = client.post("/api/arithmetic", json={"a": [[3.0] * 16], "b": [[-3.0] * 16], "c": [[3.0] * 16]}).json()
    assert max(clipped["z"]) == 3.0  # kept inside the prior's range so the page can show it


def test_arithmetic_says_what_it_clipped_or_rescales(client) -> None:
    body = {"a": [[2.5] * 8 + [0.5] * 8], "b": [[-2.0] * 8 + [0.0] * 8], "c": [[1.0] * 16]}
    raw = np.array([5.5] * 8 + [1.5] * 8)  # mean(a) - mean(b) + mean(c): 8 values past the range [-3, 3]
    clipped = client.post("/api/arithmetic", json=body).json()
    assert (clipped["fit"], clipped["clipped"], clipped["shrink"]) == ("clip", 8, 1.0)
    np.testing.assert_allclose(clipped["z"], np.clip(raw, -3, 3))
    rescaled = client.post("/api/arithmetic", json={**body, "fit": "rescale"}).json()
    assert (rescaled["fit"], rescaled["clipped"]) == ("rescale", 0)
    assert rescaled["shrink"] == pytest.approx(3 / 5.5)
    np.testing.assert_allclose(rescaled["z"], raw * 3 / 5.5, rtol=1e-6)  # the direction kept, the largest at 3
    inside = client.post(
        "/api/arithmetic", json={"a": [[1.0] * 16], "b": [[0.5] * 16], "c": [[0.0] * 16], "fit": "rescale"}
    )
    assert inside.json()["shrink"] == 1.0 and inside.json()["z"] == [0.5] * 16


def test_models_give_a_reset_z_whose_face_is_nearest_the_mean_face(client, tiny_model) -> None:
    from dcgan import load_generator
    from dcgan.bundle import RESET_Z_CANDIDATES, RESET_Z_SEED

    reset = client.get("/api/models").json()["models"][0]["reset_z"]
    model = load_generator(tiny_model)
    candidates = np.clip(model.sample_z(RESET_Z_CANDIDATES, RESET_Z_SEED), -3, 3)
    faces = model.generate(candidates).astype(np.float32)
    nearest = np.argmin(np.mean((faces - faces.mean(axis=0)) ** 2, axis=(1, 2, 3)))
    np.testing.assert_array_equal(reset, candidates[nearest])
    np.testing.assert_array_equal(model.reset_z(), reset)  # deterministic: the same z from another load
    assert client.post("/api/generate", json={"z": reset}).status_code == 200


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_api_docs_need_no_internet(client, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200 and not re.search(r"https?://", html.text)  # no CDN
    assets = re.findall(r'(?:src|href)="([^"]+)"', html.text)
    assert any(a.endswith(".js") for a in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("post", "/api/generate", {"z": [0.0] * 15}, 422, "vectors of 16 numbers"),
        ("post", "/api/generate", {"z": ["a"] * 16}, 422, "z"),
        ("post", "/api/generate", {"z": [[0.0] * 16, [0.0] * 15]}, 422, "z must hold vectors of 16 numbers"),
        ("post", "/api/generate", {"z": ["0.5"] * 16}, 422, "z[0], z[1] and 14 more: Input should be a valid number"),
        ("post", "/api/generate", {"z": [True] + [0.0] * 15}, 422, "z[0]: Input should be a valid number"),
        ("post", "/api/generate", {"z": [[0.0] * 16, 0.5]}, 422, "z[1]: Input should be a valid list"),
        ("post", "/api/interpolate", {"a": [0.0] * 16, "b": ["1"] * 16}, 422, "b[0], b[1] and 14 more: Input should"),
        ("post", "/api/generate", {"z": [0.0] * 15 + [4.0]}, 422, "outside the prior's range [-3, 3]"),
        ("post", "/api/generate", {"z": [[0.0] * 16] * (MAX_BATCH + 1)}, 413, f"at most {MAX_BATCH}"),
        ("post", "/api/generate", {"z": [0.0] * 16, "model": "nope"}, 404, "unknown model 'nope'"),
        ("post", "/api/generate", {"z": [0.0] * 16, "scale": 9}, 422, "scale"),
        ("post", "/api/generate", {"z": [0.0] * 16, "scale": 8}, 200, ""),
        ("post", "/api/generate", {"z": [[0.0] * 16] * 2, "format": "png"}, 422, "format png returns one image"),
        ("post", "/api/generate", {"z": [0.0] * 16, "extra": 1}, 422, "extra"),
        ("post", "/api/generate", {}, 422, "z: Field required"),
        ("post", "/api/generate", {"z": []}, 422, "vectors of 16 numbers"),
        ("post", "/api/interpolate", {"a": [0.0] * 16, "b": [0.0] * 16, "steps": 1}, 422, "steps"),
        ("post", "/api/interpolate", {"a": [0.0] * 16, "b": [0.0] * 3}, 422, "b must hold vectors of 16"),
        ("post", "/api/interpolate", {"a": [0.0] * 16, "b": [0.0] * 16, "method": "cubic"}, 422, "method"),
        ("post", "/api/arithmetic", {"a": [], "b": [[0.0] * 16], "c": [[0.0] * 16]}, 422, "a: List should have"),
        (
            "post",
            "/api/arithmetic",
            {"a": [[0.0] * 16, [0.0] * 9], "b": [[0.0] * 16], "c": [[0.0] * 16]},
            422,
            "a must",
        ),
        ("post", "/api/arithmetic", {"a": [[0.0] * 16], "b": [[0.0] * 16], "c": [[0.0] * 16], "fit": "x"}, 422, "fit"),
        ("get", "/api/random?seed=-1", None, 422, "seed"),
        ("get", "/api/random?seed=abc", None, 422, "seed"),
        ("get", "/api/random?model=nope", None, 404, "unknown model"),
        ("get", "/api/random?truncation=0", None, 422, "truncation"),
        ("get", "/api/random?truncation=1.5", None, 422, "truncation"),
    ],
)
def test_bad_requests_get_readable_4xx(client, method, path, body, status, message) -> None:
    response = client.post(path, json=body) if method == "post" else client.get(path)
    assert response.status_code == status, response.text
    if status >= 400:
        detail = response.json()["detail"]
        assert isinstance(detail, str) and message in detail


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(client, token: str) -> None:
    body = '{"z": [' + ", ".join(["0"] * 15 + [token]) + "]}"
    response = client.post("/api/generate", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "NaN or infinite" in response.json()["detail"]


def test_malformed_and_oversize_bodies(client) -> None:
    response = client.post("/api/generate", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422 and "JSON" in response.json()["detail"]
    huge = b"[" + b"0," * MAX_BODY_BYTES + b"0]"
    response = client.post("/api/generate", content=huge, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "over" in response.json()["detail"]


def test_static_page_and_no_path_traversal(client) -> None:
    assert client.get("/").text == "<html><body>studio</body></html>"
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"):
        response = client.get(path)
        assert response.status_code == 404 or "secret" not in response.text


def test_cors_closed_by_default(client) -> None:
    response = client.options(
        "/api/generate", headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "access-control-allow-origin" not in response.headers


def test_concurrent_requests_are_micro_batched(tiny_model) -> None:
    from dcgan.serving import Studio

    studio = Studio([tiny_model])
    model = studio.models["tiny"]
    calls: list[int] = []
    original = model.generate
    model.generate = lambda z: (calls.append(len(z)), original(z))[1]
    batcher = studio.batchers["tiny"]
    batcher.window_s = 0.05

    async def scenario() -> list[np.ndarray]:
        worker = asyncio.create_task(batcher.run())
        zs = [model.sample_z(1, seed) for seed in range(12)]
        results = await asyncio.gather(*(batcher.generate(z) for z in zs))
        worker.cancel()
        return [r for r in results], zs

    results, zs = asyncio.run(scenario())
    assert sum(calls) == 12 and len(calls) < 12  # fewer generator calls than requests
    for z, image in zip(zs, results, strict=True):
        np.testing.assert_array_equal(image, original(z))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.recursive(
        st.none()
        | st.booleans()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.integers()
        | st.text(max_size=5),
        lambda children: (
            st.lists(children, max_size=20)
            | st.dictionaries(
                st.sampled_from(["z", "model", "scale", "format", "resample", "a", "b", "c", "steps", "method"]),
                children,
                max_size=5,
            )
        ),
        max_leaves=40,
    )
)
def test_fuzzed_bodies_never_cause_5xx(client, body) -> None:
    for path in ("/api/generate", "/api/interpolate", "/api/arithmetic"):
        assert client.post(path, json=body).status_code < 500


def test_several_worker_processes_serve_the_same_model(tiny_model, tmp_path) -> None:
    """`dcgan serve --workers 2`: two uvicorn worker processes share the port and give identical faces."""
    log = tmp_path / "serve.log"
    with running_server(tiny_model, log, "--workers", "2") as url:
        contract = httpx2.get(f"{url}/api/models").json()["models"][0]["z"]
        z = np.linspace(contract["low"], contract["high"], contract["dim"]).round(4).tolist()
        faces = set()
        for _ in range(8):  # a new connection each time, so the kernel spreads them over both workers
            response = httpx2.post(f"{url}/api/generate", json={"z": z}, timeout=30)
            assert response.status_code == 200 and response.headers["content-type"] == "image/png"
            faces.add(response.content)
        assert len(faces) == 1  # stateless: the same z gives the same PNG whichever worker answers
        started = [line for line in log.read_text().splitlines() if "Started server process" in line]
        assert len(started) == 2, log.read_text()[-2000:]


def test_studio_refuses_no_model_and_two_of_one_name(tiny_model, tmp_path) -> None:
    import shutil

    from dcgan.errors import ModelError
    from dcgan.serving import Studio

    with pytest.raises(ModelError, match="no model to serve"):
        Studio([])
    twin = tmp_path / "elsewhere" / tiny_model.name
    shutil.copytree(tiny_model, twin)
    with pytest.raises(ModelError, match="two models are named 'tiny'"):
        Studio([tiny_model, twin])
