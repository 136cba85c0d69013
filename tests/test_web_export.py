"""The generator for the browser (ONNX, `dcgan.web_export`) against TensorFlow, its tie to the weights, the static
site (`dcgan site`) served by a plain static server, and the server's route for the file."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import static_server

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from dcgan.bundle import WEIGHTS_FILE, load_generator  # noqa: E402
from dcgan.cli import main  # noqa: E402
from dcgan.images import to_uint8  # noqa: E402
from dcgan.web_export import (  # noqa: E402
    ONNX_FILE,
    WEB_DIR,
    build_onnx,
    export_web,
    run_onnx,
    web_export_info,
    web_file,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "celeba64"


@pytest.fixture(scope="module")
def web_model(tiny_model, tmp_path_factory) -> Path:
    """A copy of the tiny bundle (32×32, z_dim 16, normal prior) with its browser export."""
    model = shutil.copytree(tiny_model, tmp_path_factory.mktemp("web") / "tiny")
    export_web(model)
    return model


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    """A stand-in for the built page (web/dist)."""
    page = tmp_path_factory.mktemp("page")
    (page / "index.html").write_text("<html><body>studio</body></html>")
    (page / "assets").mkdir()
    (page / "assets" / "app.js").write_text("console.log('studio')")
    return page


def grey_levels(model_dir: Path, z: np.ndarray) -> np.ndarray:
    """|ONNX − TensorFlow| of the uint8 images of z, in grey levels."""
    ours = to_uint8(run_onnx(web_file(model_dir), z)).astype(np.int16)
    return np.abs(ours - load_generator(model_dir).generate(z).astype(np.int16))


def test_tiny_export_matches_tensorflow(web_model) -> None:
    info = web_export_info(web_model)
    assert info["generator_sha256"] == hashlib.sha256((web_model / WEIGHTS_FILE).read_bytes()).hexdigest()
    assert info["z"] == {"dim": 16, "prior": "normal", "low": -3.0, "high": 3.0}
    assert (info["image_size"], info["channels"], info["weights_dtype"]) == (32, 3, "float16")
    assert info["bytes"] == (web_model / WEB_DIR / ONNX_FILE).stat().st_size
    assert info["parity"]["mean_abs"] <= 1 and info["parity"]["max_abs"] <= 8
    model = load_generator(web_model)
    z = model.sample_z(64, seed=123, truncation=1.0)
    diff = grey_levels(web_model, z)
    assert diff.mean() <= 1 and diff.max() <= 8, (diff.mean(), diff.max())
    images = run_onnx(web_file(web_model), z[:5])  # any batch size
    assert images.shape == (5, 32, 32, 3) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1


def test_onnx_graph(web_model) -> None:
    proto = onnx.load(web_model / WEB_DIR / ONNX_FILE)
    assert {o.domain: o.version for o in proto.opset_import} == {"": 17}
    ops = {node.op_type for node in proto.graph.node}
    assert ops == {"Cast", "MatMul", "Add", "Reshape", "Relu", "ConvTranspose", "Tanh", "Transpose"}
    assert not any(node.op_type == "BatchNormalization" for node in proto.graph.node)  # folded
    (z,), (image,) = proto.graph.input, proto.graph.output
    assert z.name == "z" and [d.dim_param or d.dim_value for d in z.type.tensor_type.shape.dim] == ["N", 16]
    assert image.name == "image" and [d.dim_param or d.dim_value for d in image.type.tensor_type.shape.dim] == [
        "N",
        32,
        32,
        3,
    ]
    stored = {t.data_type for t in proto.graph.initializer if t.name.endswith(".stored")}
    assert stored == {onnx.TensorProto.FLOAT16}
    generator = load_generator(web_model).generator
    half, full = (len(build_onnx(generator, dtype)[0].SerializeToString()) for dtype in ("float16", "float32"))
    assert half < 0.55 * full


def test_stale_and_missing_exports_are_detected(web_model, tmp_path) -> None:
    assert web_export_info(tmp_path) is None
    changed = shutil.copytree(web_model, tmp_path / "changed")
    assert web_export_info(changed) is not None
    with np.load(changed / WEIGHTS_FILE) as saved:
        arrays = dict(saved)
    first = next(iter(arrays))
    arrays[first] = arrays[first] + np.float16(0.01)  # the generator changed after the export
    np.savez(changed / WEIGHTS_FILE, **arrays)
    assert web_export_info(changed) is None and web_file(changed) is None
    cut = shutil.copytree(web_model, tmp_path / "cut")
    onnx_path = cut / WEB_DIR / ONNX_FILE
    onnx_path.write_bytes(onnx_path.read_bytes()[:1000])  # a half-copied file
    assert web_export_info(cut) is None
    export_web(changed)  # exporting again makes it current
    assert web_export_info(changed)["generator_sha256"] != web_export_info(web_model)["generator_sha256"]


@pytest.mark.skipif(not (SHIPPED / WEIGHTS_FILE).is_file(), reason="no shipped model")
def test_shipped_model_matches_tensorflow(tmp_path) -> None:
    model_dir = SHIPPED
    if web_export_info(SHIPPED) is None:  # not exported (or stale): measure a fresh export of a copy
        model_dir = shutil.copytree(SHIPPED, tmp_path / "celeba64", ignore=shutil.ignore_patterns("discriminator.npz"))
        export_web(model_dir)
    info = web_export_info(model_dir)
    assert info["bytes"] <= 12_000_000 and info["parity"]["mean_abs"] <= 1 and info["parity"]["max_abs"] <= 8
    z = load_generator(model_dir).sample_z(16, seed=7)
    diff = grey_levels(model_dir, z)
    assert diff.mean() <= 1 and diff.max() <= 8, (diff.mean(), diff.max())


def test_site_is_served_by_a_static_server(web_model, tiny_model, page, tmp_path) -> None:
    import httpx2

    plain = shutil.copytree(tiny_model, tmp_path / "plain")  # no export yet: the site makes one
    out = tmp_path / "site"
    main(["site", "--model", str(web_model), "--model", str(plain), "--out", str(out), "--page", str(page)])
    assert web_export_info(plain) is not None
    models = json.loads((out / "models.json").read_text())
    assert models["default"] == "tiny" and [m["name"] for m in models["models"]] == ["tiny", "plain"]
    for entry, bundle in zip(models["models"], (web_model, plain), strict=True):
        data = (bundle / WEB_DIR / ONNX_FILE).read_bytes()
        assert entry["web"] == {
            "url": f"models/{entry['name']}/generator.onnx",
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "input": "z",
            "output": "image",
            "layout": "NHWC",
            "range": [-1, 1],
        }
        assert entry["z"]["dim"] == 16 and len(entry["reset_z"]) == 16 and entry["photos"] is False
        assert entry["controls"] is None  # no named controls: no sliders on the static page
    assert not list(out.rglob("controls.json"))
    with static_server(out) as url:
        index = httpx2.get(f"{url}/")
        assert index.status_code == 200 and "studio" in index.text
        assert httpx2.get(f"{url}/assets/app.js").text == "console.log('studio')"
        assert httpx2.get(f"{url}/models.json").json() == models
        for entry in models["models"]:
            body = httpx2.get(f"{url}/{entry['web']['url']}").content
            assert len(body) == entry["web"]["bytes"] and hashlib.sha256(body).hexdigest() == entry["web"]["sha256"]


def test_site_gives_the_sliders_their_vectors(controls_model, bundle_for, page, tmp_path) -> None:
    from dcgan.controls.directions import Directions

    model = bundle_for(controls_model, "local")
    out = tmp_path / "site"
    main(["site", "--model", str(model), "--out", str(out), "--page", str(page)])
    (entry,) = json.loads((out / "models.json").read_text())["models"]
    assert entry["controls"] == f"models/{model.name}/controls.json"
    controls = json.loads((out / entry["controls"]).read_text())
    directions = Directions.load(model)
    assert controls["attributes"] == directions.attributes
    assert [{k: v for k, v in d.items() if k != "vector"} for d in controls["directions"]] == directions.controls()
    for d in controls["directions"]:  # what GET /api/directions gives, and the vector the server's straight moves use
        np.testing.assert_allclose(d["vector"], directions.vector(d["name"]), atol=1e-6)
    assert {d["kind"] for d in controls["directions"]} == {"attribute", "sefa"}
    np.testing.assert_allclose(controls["basis"], directions.sefa, atol=1e-6)  # crossing's basis
    offsets = [controls["boundaries"][a]["offset"] for a in directions.attributes]
    np.testing.assert_allclose(offsets, directions.offsets, atol=1e-6)  # what make-me steers
    assert "classifier" not in controls and not (out / "models" / model.name / "classifier.onnx").exists()  # 32 px


def test_site_needs_a_built_page(web_model, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["site", "--model", str(web_model), "--out", str(tmp_path / "site"), "--page", str(tmp_path)])
    assert exit_info.value.code == 2 and "no built page" in capsys.readouterr().err
    assert not (tmp_path / "site").exists()


def test_server_route_serves_the_file_with_caching(web_model, tiny_model, page, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from dcgan.serving import create_app

    plain = shutil.copytree(tiny_model, tmp_path / "plain")
    with TestClient(create_app([web_model, plain], web_dir=page)) as client:
        tiny, bare = client.get("/api/models").json()["models"]
        info = web_export_info(web_model)
        assert tiny["web"]["url"] == "/api/models/tiny/generator.onnx" and tiny["web"]["sha256"] == info["sha256"]
        assert "web" not in bare
        answer = client.get(tiny["web"]["url"])
        assert answer.status_code == 200 and answer.content == (web_model / WEB_DIR / ONNX_FILE).read_bytes()
        assert answer.headers["etag"] == f'"{info["sha256"]}"' and answer.headers["cache-control"] == "no-cache"
        again = client.get(tiny["web"]["url"], headers={"If-None-Match": answer.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        assert client.get("/api/models/nobody/generator.onnx").status_code == 404
        assert client.get("/api/models/plain/generator.onnx").status_code == 404  # no export


def test_the_classifier_for_the_browser_reads_as_keras_does() -> None:
    """A committee of two small classifiers with random batch-norm statistics (so the folding is exercised), exported
    and run with ONNX Runtime: the same logits and ages as Keras on random faces."""
    import onnxruntime as ort

    from dcgan.controls.classifier import AttributeClassifier, Committee
    from dcgan.controls.web import build_classifier_onnx

    rng = np.random.default_rng(0)
    members = [AttributeClassifier(architecture={"widths": [4, 8], "dense": 8}) for _ in range(2)]
    for member in members:
        for layer in member.network.layers:
            if layer.name.startswith("bn"):
                for variable, low in ((layer.gamma, 0.5), (layer.beta, -0.5), (layer.moving_mean, -0.5)):
                    variable.assign(rng.uniform(low, low + 1, variable.shape).astype(np.float32))
                layer.moving_variance.assign(rng.uniform(0.5, 2, layer.moving_variance.shape).astype(np.float32))
    committee = Committee(members)
    images = rng.integers(0, 256, (5, 64, 64, 3)).astype(np.uint8)
    logits, years = committee.raw(images)
    session = ort.InferenceSession(build_classifier_onnx(committee, "float32").SerializeToString())
    ours, our_years = session.run(["attributes", "age"], {"image": images.astype(np.float32)})
    np.testing.assert_allclose(ours, logits, atol=1e-4)
    np.testing.assert_allclose(our_years[:, 0], years, atol=1e-3)
    assert np.abs(logits).max() > 0.01  # the check is not on all-zero outputs


@pytest.mark.skipif(not (SHIPPED / WEIGHTS_FILE).is_file(), reason="no shipped model")
def test_shipped_classifier_for_the_browser(tmp_path) -> None:
    from dcgan.controls.web import PARITY_PROBABILITY, PARITY_YEARS, write_classifier_onnx

    parity = write_classifier_onnx(load_generator(SHIPPED), tmp_path / "classifier.onnx")  # float16 weights
    assert parity["probability_max_abs"] <= PARITY_PROBABILITY and parity["age_max_abs"] <= PARITY_YEARS
    assert (tmp_path / "classifier.onnx").stat().st_size < 2_000_000
