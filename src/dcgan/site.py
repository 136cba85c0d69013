"""`dcgan site`: a static folder that any static host serves with no Python: the built page, models.json and each
model's browser generator (`dcgan.web_export`).

    OUT/index.html, assets/…           the built page (`resources.web_dist()`)
    OUT/models.json                    what /api/models returns (`dcgan.serving.models_info`), each model with its `web`
    OUT/models/<name>/generator.onnx   entry pointing here (a relative URL); "photos" is false (no server to invert)

A bundle with no browser export, or one of other weights, is exported first (its web/ folder is written).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from dcgan import resources
from dcgan.atomic import atomic_dir, write_json_atomic
from dcgan.errors import ModelError
from dcgan.web_export import ONNX_FILE, export_web, web_file

MODELS_FILE = "models.json"


def site_url(name: str) -> str:
    """Where a model's ONNX file is in the site, relative to its index.html and models.json."""
    return f"models/{name}/{ONNX_FILE}"


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
    for entry in info["models"]:
        entry["photos"] = False  # POST /api/invert needs the server
    out = Path(out)
    with atomic_dir(out) as staging:
        shutil.copytree(page, staging, dirs_exist_ok=True)
        for name, directory in dirs.items():
            target = staging / site_url(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(web_file(directory), target)
        write_json_atomic(staging / MODELS_FILE, info)
    return out
