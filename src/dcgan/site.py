"""`dcgan site`: a static folder that any static host serves with no Python: the built page, models.json and each
model's browser generator (`dcgan.web_export`).

    OUT/index.html, assets/…           the built page (`resources.web_dist()`)
    OUT/models.json                    what /api/models returns (`dcgan.serving.models_info`), each model with its `web`
    OUT/models/<name>/generator.onnx   entry pointing here (a relative URL); "photos" is false (no server to invert)
    OUT/models/<name>/controls.json    the bundle's sliders with their unit vectors, when it has named controls (the
                                       entry's "controls" URL): the page moves z along them (web/src/linear.ts)
    OUT/models/<name>/classifier.onnx  the controls' attribute classifier (`dcgan.controls.web`), for 64×64 RGB
                                       models: the page reads its faces' attributes (controls.json's "classifier")

A bundle with no browser export, or one of other weights, is exported first (its web/ folder is written).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dcgan import resources
from dcgan.atomic import atomic_dir, write_json_atomic
from dcgan.errors import ModelError
from dcgan.web_export import ONNX_FILE, export_web, web_file

if TYPE_CHECKING:
    from dcgan.bundle import FaceGenerator

MODELS_FILE = "models.json"
CONTROLS_FILE = "controls.json"
CLASSIFIER_FILE = "classifier.onnx"


def site_url(name: str, file: str = ONNX_FILE) -> str:
    """Where a model's file (default: its ONNX generator) is in the site, relative to index.html and models.json."""
    return f"models/{name}/{file}"


def rounded(values: np.ndarray) -> list:
    """Floats as JSON lists, to 7 decimals (float32's precision, in a short text)."""
    return np.asarray(values, np.float64).round(7).tolist()


def browser_controls(model_dir: Path) -> dict | None:
    """A bundle's sliders for a page with no server (what GET /api/directions gives, each direction with its unit
    `vector`, and SeFa's basis for crossing), or None when it has no named controls. Without the server's per-face
    solve, the page moves named attributes straight along their boundaries' normals, as `Controls.linear` does."""
    from dcgan.controls.directions import JSON_FILE, Directions

    if not (Path(model_dir) / JSON_FILE).exists():
        return None
    directions = Directions.load(model_dir)
    return {
        "directions": [{**c, "vector": rounded(directions.vector(c["name"]))} for c in directions.controls()],
        "attributes": directions.attributes,
        "basis": rounded(directions.sefa),  # what a cross mixes parents along
        "boundaries": {  # each attribute's signed distance n·z + offset, which "make me a face" steers (`steer`)
            spec["name"]: {
                "offset": float(offset),
                **({"years_per_unit": spec["years_per_unit"]} if "years_per_unit" in spec else {}),
            }
            for spec, offset in zip(directions.info["attributes"], directions.offsets, strict=True)
        },
    }


def classifier_entry(model: FaceGenerator, name: str, site: Path) -> dict:
    """Write model `name`'s attribute classifier as ONNX into the site (checked against Keras) and describe it for
    the page: where it is, its outputs and the calibration thresholds of the bundle's directions."""
    from dcgan.controls.web import write_classifier_onnx

    path = site / site_url(name, CLASSIFIER_FILE)
    parity = write_classifier_onnx(model, path)
    directions = model.controls.directions
    return {
        "url": site_url(name, CLASSIFIER_FILE),
        "bytes": path.stat().st_size,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "attributes": list(model.controls.classifier.attributes),
        "thresholds": {a: directions.info["calibration"][a]["threshold"] for a in directions.info["calibration"]},
        "parity": parity,
    }


def build_site(model_dirs: list[Path], out: Path, page: Path | None = None, log: Callable[[str], None] = print) -> Path:
    """Write the static site into `out` (replaced atomically); `page`: the built page (default: the installed
    one). Returns `out`."""
    from dcgan.bundle import load_generator
    from dcgan.serving import models_info

    page = Path(page) if page is not None else resources.web_dist()
    if page is None or not (page / "index.html").is_file():
        raise ModelError(
            f"no built page{f' in {page}' if page else ''}: run `npm ci && npm run build` in web/, or give --page DIR"
        )
    if not model_dirs:
        raise ModelError("no model for the site")
    dirs: dict[str, Path] = {}
    for directory in map(Path, model_dirs):
        name = directory.resolve().name
        if name in dirs:
            raise ModelError(f"two models are named {name!r}; give them different folder names")
        dirs[name] = directory
    for name, directory in dirs.items():
        if web_file(directory) is None:
            log(f"{name}: no current browser export in {directory}; exporting")
            export_web(directory)
    models = {name: load_generator(directory) for name, directory in dirs.items()}
    info = models_info(models, {name: site_url(name) for name in dirs})
    controls = {name: browser_controls(directory) for name, directory in dirs.items()}
    readable = {name for name, model in models.items() if controls[name] and model.image_shape == (64, 64, 3)}
    for entry in info["models"]:
        entry["photos"] = False  # POST /api/invert needs the server
        entry["controls"] = site_url(entry["name"], CONTROLS_FILE) if controls[entry["name"]] else None
    out = Path(out)
    with atomic_dir(out) as staging:
        shutil.copytree(page, staging, dirs_exist_ok=True)
        for name, directory in dirs.items():
            target = staging / site_url(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(web_file(directory), target)
            if name in readable:
                controls[name]["classifier"] = classifier_entry(models[name], name, staging)
            if controls[name]:
                write_json_atomic(staging / site_url(name, CONTROLS_FILE), controls[name])
        write_json_atomic(staging / MODELS_FILE, info)
    return out
