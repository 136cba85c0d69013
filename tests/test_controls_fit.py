"""`dcgan controls fit` on a tiny bundle, the Python API on it, and the named controls' HTTP routes."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from fastapi.testclient import TestClient

from dcgan.bundle import load_generator
from dcgan.cli import main
from dcgan.controls.classifier import ATTRIBUTES
from dcgan.controls.directions import Directions
from dcgan.errors import ModelError
from dcgan.serving import create_app


def test_fit_writes_every_control_into_the_bundle(controls_model, capsys):
    info = json.loads((controls_model / "directions.json").read_text())
    names = [c["name"] for c in info["controls"]]
    assert names[:10] == [*ATTRIBUTES, "Age"]
    assert sum(c["kind"] == "sefa" for c in info["controls"]) == 10
    assert all(c["step"] > 0 and c["how"] for c in info["controls"])
    found = [c for c in info["controls"] if c["kind"] == "sefa"]
    assert {c["step"] for c in found} == {1.0}  # the prior's σ along any direction: the tiny model's is N(0, 1)
    assert re.fullmatch(r"#1 (more|less) [a-z ]+, (more|less) [a-z ]+", found[0]["label"])  # in words
    assert (controls_model / "classifier" / "classifier.json").exists()
    directions = Directions.load(controls_model)
    np.testing.assert_allclose(directions.sefa @ directions.sefa.T, np.eye(16), atol=1e-4)  # an orthonormal basis
    np.testing.assert_allclose(np.linalg.norm(directions.normals, axis=1), 1, atol=1e-5)
    main(["controls", "list", str(controls_model)])
    assert "sefa_3" in capsys.readouterr().out


def test_directions_belong_to_their_weights(controls_model, tmp_path):
    other = shutil.copytree(controls_model, tmp_path / "other")
    weights = dict(np.load(other / "generator.npz"))
    first = next(iter(weights))
    weights[first] = weights[first] + 1
    np.savez(other / "generator.npz", **weights)
    with pytest.raises(ModelError, match="fitted to other generator weights"):
        load_generator(other).directions()


def test_name_a_discovered_direction(controls_model, tmp_path, capsys):
    model = shutil.copytree(controls_model, tmp_path / "named")
    main(["controls", "name", str(model), "sefa_2", "lighting from the left"])
    assert {c["name"]: c["label"] for c in load_generator(model).directions()}["sefa_2"] == "lighting from the left"
    with pytest.raises(SystemExit):
        main(["controls", "name", str(model), "sefa_99", "nothing"])
    assert "no direction named 'sefa_99'" in capsys.readouterr().err


def test_python_api(controls_model):
    model = load_generator(controls_model)
    z = model.sample_z(3, 0)
    assert model.edit(z, {"Smiling": 1.0, "Young": -0.5}).shape == (3, 16)
    assert model.edit(z[0], {"sefa_0": 2}).shape == (16,)
    found = model.sample_where({"Male": True}, n=4, seed=0)
    assert found.z.shape == (4, 16) and found.satisfied.dtype == bool
    assert model.children(z[0], 5, 0.3, lock=True, seed=0).shape == (5, 16)
    assert model.cross(z, 4, seed=0).shape == (4, 16)
    attrs = model.attributes(model.generate(z))
    assert set(attrs) >= {"Smiling", "Age"} and np.all((attrs["Smiling"] >= 0) & (attrs["Smiling"] <= 1))


@pytest.fixture(scope="module")
def client(controls_model, tiny_model):
    with TestClient(create_app([controls_model, tiny_model], web_dir=None)) as test_client:
        yield test_client


def test_api_directions_and_edit(client, controls_model):
    listed = client.get("/api/directions").json()
    assert listed["model"] == "tiny-controls" and len(listed["directions"]) == 20
    z = load_generator(controls_model).sample_z(1, 0)[0].tolist()
    answer = client.post("/api/edit", json={"z": z, "moves": {"Smiling": 1.5, "sefa_1": -1}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["z"]) == 16 and body["image"].startswith("data:image/png;base64,")
    assert 0 <= body["clipped"] <= 1 and set(body["attributes"]) >= {"Smiling", "Age"}
    assert client.post("/api/attributes", json={"z": z}).json()["attributes"].keys() == body["attributes"].keys()


def test_api_sample_children_cross(client, controls_model):
    z = load_generator(controls_model).sample_z(3, 0).tolist()
    found = client.post("/api/sample", json={"constraints": {"Male": True, "Age": [20, 60]}, "n": 3, "seed": 1})
    assert found.status_code == 200, found.text
    assert len(found.json()["faces"]) == 3 and found.json()["tried"] >= 3
    kids = client.post("/api/children", json={"z": z[0], "n": 4, "amount": 0.2, "lock": True, "seed": 2})
    assert kids.status_code == 200 and len(kids.json()["faces"]) == 4
    crossed = client.post("/api/cross", json={"parents": z, "n": 2, "seed": 3})
    assert crossed.status_code == 200 and len(crossed.json()["faces"]) == 2


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/api/edit", {"z": [0.0] * 16, "moves": {"Wings": 1}}, 422, "no direction named 'Wings'"),
        ("/api/edit", {"z": [0.0] * 16, "moves": {"Smiling": 50}}, 422, "amount"),
        ("/api/edit", {"z": [0.0] * 16, "moves": {"Smiling": "1"}}, 422, "moves"),
        ("/api/edit", {"z": [0.0] * 15, "moves": {}}, 422, "16"),
        ("/api/edit", {"z": [0.0] * 16, "moves": {}, "hold": ["sefa_0"]}, 422, "can hold only"),
        ("/api/sample", {"constraints": {"Age": [50, 200]}}, 422, "Age must be two ages"),
        ("/api/sample", {"constraints": {"Smiling": "yes"}}, 422, "constraints"),
        ("/api/children", {"z": [0.0] * 16, "amount": 2}, 422, "amount"),
        ("/api/cross", {"parents": [[0.0] * 16]}, 422, "parents"),
        ("/api/cross", {"parents": [[0.0] * 16] * 2, "weights": [1, 1]}, 422, "weights"),
        ("/api/edit", {"model": "tiny", "z": [0.0] * 16, "moves": {}}, 404, "no named controls"),
    ],
)
def test_api_refuses_bad_requests_clearly(client, path, body, status, message):
    answer = client.post(path, json=body)
    assert answer.status_code == status, answer.text
    assert message in answer.json()["detail"]
    assert client.get("/api/directions", params={"model": "tiny"}).status_code == 404


def test_named_edits_are_solved_per_face(controls_model):
    model = load_generator(controls_model)
    z = model.sample_z(8, 1)
    solved = model.controls.edit(z, {"Smiling": 1.0})
    assert np.abs(solved.z).max() <= 3 and solved.lost.shape == (8,)
    linear = model.controls.edit(z, {"Smiling": 1.0}, refine=False)
    assert not np.allclose(linear.z, solved.z)


def test_a_bundle_with_a_committee_solves_its_edits_against_the_mean(controls_model, tmp_path):
    from dcgan.controls.classifier import Committee, install, load_classifier

    bundle = shutil.copytree(controls_model, tmp_path / "committee")
    single = load_classifier(bundle / "classifier")
    install(Committee([single, single]), bundle / "classifier")
    model = load_generator(bundle)
    assert isinstance(model.controls.classifier, Committee)
    z = model.sample_z(4, 1)
    alone = load_generator(controls_model).controls.edit(z, {"Smiling": 1.0})
    twice = model.controls.edit(z, {"Smiling": 1.0})  # the mean of one network twice is that network
    np.testing.assert_allclose(twice.z, alone.z, atol=1e-4)
