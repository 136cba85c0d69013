"""The face model shipped in the repository loads on a fresh checkout and keeps the app's z contract."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from dcgan import load_generator
from dcgan.provenance import summary
from dcgan.resources import default_model
from dcgan.web_export import WEB_DIR

DEFAULT_MODEL = default_model()


def test_shipped_model_loads_and_generates() -> None:
    # WEB_DIR is the browser export `scripts/app.sh` rebuilds from generator.npz (gitignored, not shipped)
    shipped = [f for f in DEFAULT_MODEL.rglob("*") if f.is_file() and WEB_DIR not in f.relative_to(DEFAULT_MODEL).parts]
    size = sum(f.stat().st_size for f in shipped)
    assert size < 25 * 2**20, f"the shipped bundle is {size / 2**20:.1f} MB, over 25 MB"
    model = load_generator(DEFAULT_MODEL)
    assert model.z_contract == {"dim": 100, "prior": "uniform", "low": -1.0, "high": 1.0}
    faces = model.generate(model.sample_z(4, seed=0))
    assert faces.shape == (4, 64, 64, 3) and faces.dtype == np.uint8
    assert faces.std() > 20  # real pictures, not a constant image
    assert len({face.tobytes() for face in faces}) == 4  # different z, different faces
    provenance = json.loads((DEFAULT_MODEL / "model.json").read_text())["provenance"]
    assert provenance["images_seen"] > 0 and provenance["train_config"]["z_prior"] == "uniform"
    assert (DEFAULT_MODEL / "README.md").exists()  # the model card


def strings(value) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_no_shipped_bundle_records_an_absolute_path() -> None:
    """model.json, test-metrics.json, ...: paths relative to the project, never the build machine's."""
    files = list(Path(__file__).resolve().parents[1].glob("models/**/*.json"))
    assert any(f.name == "model.json" for f in files)
    for bundle in files:
        absolute = [
            s
            for s in strings(json.loads(bundle.read_text()))
            if PurePosixPath(s).is_absolute() or PureWindowsPath(s).is_absolute()
        ]
        assert not absolute, f"{bundle} records paths of the build machine: {absolute}"


def test_shipped_model_summary() -> None:
    info = json.loads((DEFAULT_MODEL / "model.json").read_text())
    shown = summary(info, DEFAULT_MODEL)
    assert shown["data"] == "data/celeba-usual64/train"
    # images seen per stage of the shipped lineage: 1-8 and 10-13 (stage 9 was tried and dropped)
    stages = (992_000, 512_000, 2_112_000, 320_000, 320_000, 288_000) + (256_000,) * 6
    assert shown["images_seen"] == sum(stages)
    assert shown["fid_extractor"] == "inception-fid" and shown["fid_split"] == "test" and 20 < shown["fid"] < 40
