"""Every script in benchmarks/ imports with the test install and runs as the README names it, with a tiny
setting of seconds, so that none can rot unnoticed."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, blob_images

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


# Per benchmark: the arguments of a run of seconds ({model}: a tiny bundle, {run}: its run, {cache}: its data,
# {faces}: a 64×64 cache, {out}: an empty folder, {controls_model}: the tiny bundle with named controls,
# {inverted_model}: a tiny bundle with a photo encoder; {fixtures}: tests/fixtures/datasets (photos, 4 faces);
# {controls_model}/../classifier: the classifier its controls were fitted with, here a judge), and the pieces of
# the report it must print.
QUICK = {
    "browser.py": (["--quick", "--model", "{model}"], "only the site's static files requested: yes"),
    "serve_load.py": (["--quick", "--model", "{model}"], ", 0 errors"),
    "crawl.py": (["--quick"], "2 pages, 6 images"),
    "train_throughput.py": (["--quick"], "fp32: "),
    "discriminator_overfit.py": (
        ["{run}", "--train", "{cache}", "--heldout", "{cache}", "--steps", "4", "--n", "8"],
        "8 images of each kind",
    ),
    "discriminator_ranking.py": (
        ["--model", "{inverted_model}", "--data", "{cache}", "--pool", "24", "--samples", "8", "--extractor", "pixels"],
        ("bottom 60%", "8 faces a row"),
    ),
    "directions.py": (
        ["--quick", "--model", "{controls_model}", "--judge", "{controls_model}/../classifier", "--real", "{cache}"],
        ("judge before", "identity lock off", "one face at a time", "1.000 (bundle)"),
    ),
    "framing.py": (  # one folder against itself: no scale, no shift
        ["{fixtures}", "{fixtures}", "--faces", "6"],
        ("4 faces (2 images without one)", "second ≈ 1.000 · first + (+0.00, +0.00) px", "0.0 px at the top"),
    ),
    "invert.py": (["--quick", "--model", "{inverted_model}", "--data", "{cache}"], "encoder + solver"),
    "reference_dcgan.py": (
        [
            "--data",
            "{faces}",
            "--out",
            "{out}",
            "--images",
            "32",
            "--batch-size",
            "8",
            "--samples",
            "10",
            "--bf16",
            "--test",
            "{faces}",
            "--extractor",
            "pixels",
        ],
        ("wrote 10 faces", "FID"),
    ),
}


def test_every_benchmark_has_a_quick_run() -> None:
    assert sorted(p.name for p in BENCHMARKS.glob("*.py")) == sorted(QUICK)


@pytest.mark.parametrize("name", sorted(QUICK))
def test_benchmark_imports_and_runs(name, tiny_model, tiny_cache, tmp_path, request) -> None:
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), BENCHMARKS / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # its imports resolve with the install the README gives
    assert callable(module.main)
    run_dir = Path(json.loads((tiny_model / "model.json").read_text())["provenance"]["checkpoint"]).parents[1]
    template, expected = QUICK[name]
    faces = tmp_path / "faces64"
    if "{faces}" in template:
        faces.mkdir()
        np.save(faces / "images.npy", blob_images(16, 64))
    fields = {"model": tiny_model, "run": run_dir, "cache": tiny_cache, "faces": faces, "out": tmp_path / "out"}
    fields["fixtures"] = FIXTURES
    for fixture in ("controls_model", "inverted_model"):
        if "{" + fixture + "}" in template:
            fields[fixture] = request.getfixturevalue(fixture)
    args = [a.format(**fields) for a in template]
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for piece in (expected,) if isinstance(expected, str) else expected:
        assert piece in done.stdout, done.stdout
