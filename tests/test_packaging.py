"""The wheel carries the page and the shipped model: built, installed into a fresh venv and served from
another directory, it answers `/`, `/api/models` and `/api/random` without the source checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx2
import pytest
from conftest import running_server

from dcgan import resources
from dcgan.errors import ModelError

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["src", "setup.py", "pyproject.toml", "MANIFEST.in", "README.md", "models/celeba64"]
STUB_PAGE = "<html><body>stub page for the packaging test</body></html>"


def clean_env() -> dict[str, str]:
    """This environment without the PYTHONPATH that may point at the sources under test."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=cwd, env=clean_env())
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, str]:
    """A fresh venv holding only the wheel built from a copy of the sources (its dependencies come from this
    interpreter's site-packages through a .pth, which does not bring this checkout's editable install along);
    and the page the wheel should serve."""
    tmp = tmp_path_factory.mktemp("packaging")
    tree = tmp / "tree"
    for name in SOURCES:
        source, target = ROOT / name, tree / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    built = ROOT / "web" / "dist" / "index.html"
    (tree / "web" / "dist").mkdir(parents=True)
    page = built.read_text() if built.exists() else STUB_PAGE
    (tree / "web" / "dist" / "index.html").write_text(page)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "wheels", tree)
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    (wheel,) = (tmp / "wheels").glob("dcgan-*.whl")
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv, page


def test_a_checkout_finds_its_model_and_page_or_says_where_to_get_them(tmp_path, monkeypatch) -> None:
    assert resources.default_model() == ROOT / "models" / "celeba64"
    built = (ROOT / "web" / "dist" / "index.html").exists()
    assert resources.web_dist() == (ROOT / "web" / "dist" if built else None)
    monkeypatch.setattr(resources, "ASSETS", tmp_path / "no-assets")
    monkeypatch.setattr(resources, "checkout_root", lambda: None)
    assert resources.web_dist() is None  # the server then shows how to build the page
    with pytest.raises(ModelError, match="--model DIR"):
        resources.default_model()


def test_wheel_finds_its_page_and_model(installed, tmp_path) -> None:
    venv, _ = installed
    code = "import dcgan, dcgan.resources as r; print(dcgan.__file__); print(r.web_dist()); print(r.default_model())"
    module, page, model = run(venv / "bin" / "python", "-c", code, cwd=tmp_path).split()
    assets = str(venv / "lib")
    assert module.startswith(assets), f"imported {module}, not the installed wheel"
    assert page.startswith(assets) and model.startswith(assets)
    assert (Path(model) / "generator.npz").exists() and (Path(page) / "index.html").exists()


def test_installed_wheel_serves_the_page_and_the_shipped_model(installed, tmp_path) -> None:
    venv, page = installed
    with running_server(
        None, tmp_path / "serve.log", dcgan=(str(venv / "bin" / "dcgan"),), cwd=tmp_path, env=clean_env()
    ) as url:
        assert httpx2.get(f"{url}/", timeout=10).text == page
        models = httpx2.get(f"{url}/api/models", timeout=10).json()
        assert models["default"] == "celeba64" and models["models"][0]["z"]["dim"] == 100
        assert models["models"][0]["summary"]["fid_extractor"] == "inception-fid"  # test-metrics.json came along
        face = httpx2.get(f"{url}/api/random", params={"seed": 3}, timeout=60).json()
        assert face["model"] == "celeba64" and len(face["z"]) == 100 and face["image"].startswith("data:image/png")
