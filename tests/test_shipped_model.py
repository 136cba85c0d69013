"""The face model shipped in the repository loads on a fresh checkout and keeps the app's z contract."""

from __future__ import annotations

import json

import numpy as np

from dcgan import load_generator
from dcgan.cli import DEFAULT_MODEL


def test_shipped_model_loads_and_generates() -> None:
    size = sum(f.stat().st_size for f in DEFAULT_MODEL.rglob("*") if f.is_file())
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
