"""Shared fixtures: tiny configs and caches so the suite runs in minutes on 2 CPU cores."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from dcgan.config import Config
from dcgan.data import PrepareOptions, prepare
from dcgan.inversion.options import EncoderOptions

# ../shared/datasets: the nearest one above the tests (a clone in any sub-folder finds it)
SHARED = next(
    (p / "shared" / "datasets" for p in Path(__file__).resolve().parents if (p / "shared" / "datasets").is_dir()),
    Path(__file__).resolve().parents[2] / "shared" / "datasets",
)
# small real photos kept in the repository (tests/fixtures/datasets/README.md)
FIXTURES = Path(__file__).parent / "fixtures" / "datasets"


def tiny_config(**changes) -> Config:
    base = dict(
        image_size=32,
        channels=3,
        z_dim=16,
        gf=8,
        df=8,
        batch_size=8,
        sample_every=5,
        checkpoint_every=5,
        log_every=1,
        keep_checkpoints=3,
        seed=1,
    )
    return Config(**{**base, **changes})


def blob_images(n: int, size: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    """Structured images (a bright disc on a gradient) so a GAN has something to learn."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    images = np.empty((n, size, size, channels), dtype=np.uint8)
    for i in range(n):
        cx, cy, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.3)
        disc = ((xx - cx) ** 2 + (yy - cy) ** 2 < r * r).astype(float)
        base = 80 * xx + 40 * yy
        for c in range(channels):
            images[i, ..., c] = np.clip(base + disc * rng.uniform(120, 170) + 10 * c, 0, 255)
    return images


def tiny_train_command(cache: Path, run: Path, extra: str) -> list[str]:
    """`dcgan train` in a subprocess with the tiny model, plus `extra` flags."""
    tiny = "--image-size 32 --z-dim 16 --gf 8 --df 8 --batch-size 8"
    return [
        sys.executable,
        "-m",
        "dcgan.cli",
        "train",
        "--data",
        str(cache),
        "--run-dir",
        str(run),
        *tiny.split(),
        *extra.split(),
    ]


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> Path:
    """A prepared cache of 64 32×32 RGB images, built through `prepare` from PNG files."""
    from PIL import Image

    src = tmp_path_factory.mktemp("blobs_src")
    for i, image in enumerate(blob_images(64, 40)):
        Image.fromarray(image).save(src / f"{i:03d}.png")
    out = tmp_path_factory.mktemp("caches") / "blobs32"
    prepare(src, out, PrepareOptions(size=32), workers=1, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_model(tiny_cache, tmp_path_factory) -> Path:
    """An exported bundle of a tiny model trained for a few steps (normal prior, to exercise the z contract)."""
    from dcgan.bundle import export
    from dcgan.training import train

    run = tmp_path_factory.mktemp("runs") / "tiny"
    train(tiny_config(steps=4, z_prior="normal"), tiny_cache, run, progress=False)
    return export(run, tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def controls_model(tiny_model, tiny_cache, tmp_path_factory) -> Path:
    """A copy of the tiny bundle with named controls fitted by an untrained classifier (random but fixed calls: its
    weights are drawn from a fixed seed, not from whatever the tests before it left in Keras' random state)."""
    import keras

    from dcgan.controls.classifier import AttributeClassifier
    from dcgan.controls.fit import fit_controls

    root = tmp_path_factory.mktemp("controls")
    model = shutil.copytree(tiny_model, root / "tiny-controls")
    keras.utils.set_random_seed(0)
    AttributeClassifier().save(root / "classifier")
    fit_controls(model, [root / "classifier"], tiny_cache, 300, 48, 24, log=lambda _: None)
    return model


ENCODER_OPTIONS = EncoderOptions(steps=6, batch_size=8, checkpoint_every=3, width=8)


@pytest.fixture(scope="session")
def inverted_model(tiny_cache, tmp_path_factory) -> Path:
    """A tiny bundle (uniform prior) with its discriminator and a photo encoder trained for a few steps."""
    from dcgan.bundle import export
    from dcgan.inversion.train import train_encoder
    from dcgan.training import train

    root = tmp_path_factory.mktemp("inversion")
    train(tiny_config(steps=4, z_prior="uniform"), tiny_cache, root / "run", progress=False)
    model = export(root / "run", root / "tiny-photo", discriminator=True)
    train_encoder(model, tiny_cache, ENCODER_OPTIONS, val=tiny_cache, work=root / "work", log=lambda _: None)
    return model


@pytest.fixture(scope="module", params=["server", "local"])
def mode(request) -> str:
    """Who makes the faces in a browser test, one module at a time: "server" (a bundle with no web export: the page
    asks `dcgan serve` for every face) or "local" (a web-exported copy of it: the browser's ONNX generator, once
    loaded). The id shows in the test names: test_x[server], test_x[local]."""
    if request.param == "local":
        pytest.importorskip("onnx")
    return request.param


@pytest.fixture(scope="session")
def bundle_for(tmp_path_factory):
    """bundle_for(model, mode): what to serve in `mode`: `model` itself for "server", for "local" a copy of it with
    its web export (`dcgan.web_export.export_web`), made once a session."""
    copies: dict[Path, Path] = {}

    def bundle(model: Path, mode: str) -> Path:
        if mode == "server":
            return model
        if model not in copies:
            from dcgan.web_export import export_web

            copy = shutil.copytree(model, tmp_path_factory.mktemp("web") / model.name)
            export_web(copy)
            copies[model] = copy
        return copies[model]

    return bundle


@contextmanager
def static_server(folder: Path, timeout: float = 30) -> Iterator[str]:
    """A plain static file server (`python -m http.server`, no dcgan) of `folder` on a free loopback port; yields
    its URL (no trailing slash) once it answers."""
    import httpx2

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                httpx2.get(f"{url}/", timeout=2)
                break
            except httpx2.HTTPError:
                assert server.poll() is None and time.time() < deadline, "http.server did not start"
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def running_server(
    model: Path | None,
    log: Path,
    *extra: str,
    timeout: float = 180,
    dcgan: tuple[str, ...] = (sys.executable, "-m", "dcgan.cli"),
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """`dcgan serve` (the command `dcgan`, run in `cwd` with `env`) in a subprocess on a free loopback port,
    serving `model` (None: the default model), output to `log`; yields its URL once it answers."""
    import httpx2

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    models = ["--model", str(model)] if model is not None else []
    command = [*dcgan, "serve", *models, "--port", str(port), *extra]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env={**(os.environ if env is None else env), "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                httpx2.get(f"{url}/api/health", timeout=2).raise_for_status()
                break
            except httpx2.HTTPError:
                if process.poll() is not None or time.time() > deadline:
                    pytest.fail(f"server did not start: {Path(log).read_text()[-2000:]}")
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
