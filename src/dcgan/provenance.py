"""What a model bundle records of where it came from: paths relative to the project (never the build machine's
absolute ones), and the plain summary the page shows (data, images seen, training time, test FID)."""

from __future__ import annotations

import json
import os
from pathlib import Path

TEST_METRICS_FILE = "test-metrics.json"  # `dcgan evaluate MODEL_DIR --json test-metrics.json`, kept beside model.json


def relative(path: str | Path, base: Path | None = None) -> str:
    """`path` relative to `base` (default: the working directory, the project's root when commands run from it),
    with forward slashes; a relative `path` is taken as relative to `base` already."""
    base = (base or Path.cwd()).resolve()
    return Path(os.path.relpath((base / path).resolve(), base)).as_posix()


def relative_chain(chain: dict, base: Path | None = None) -> dict:
    """An `init_generator` record (the bundle a run started from, and the one that bundle started from, ...) with
    every `path` made relative by `relative`."""
    out = dict(chain)
    if isinstance(chain.get("path"), str):
        out["path"] = relative(chain["path"], base)
    if isinstance(chain.get("init_generator"), dict):
        out["init_generator"] = relative_chain(chain["init_generator"], base)
    return out


def training_stages(provenance: dict) -> list[dict]:
    """The runs that made a bundle, the last first: its own, then each bundle it was fine-tuned from."""
    stages = [provenance]
    while isinstance(stages[-1].get("init_generator"), dict):
        stages.append(stages[-1]["init_generator"])
    return stages


def summary(info: dict, model_dir: Path | None = None) -> dict:
    """A bundle's origin in a few plain fields: training data, images seen and hours of training over every
    stage (fine-tuning included), and the test FID with its extractor and split when `model_dir` holds
    TEST_METRICS_FILE (else those are None)."""
    provenance = info.get("provenance", {})
    stages = training_stages(provenance)
    seen = [s.get("images_seen") for s in stages]
    seconds = [s.get("train_seconds") for s in stages]
    metrics: dict = {}
    if model_dir is not None and (Path(model_dir) / TEST_METRICS_FILE).exists():
        metrics = json.loads((Path(model_dir) / TEST_METRICS_FILE).read_text())
    source = (metrics.get("reference") or {}).get("source")
    return {
        "data": provenance.get("data"),
        "images_seen": sum(seen) if None not in seen else None,
        "train_hours": round(sum(seconds) / 3600, 1) if None not in seconds else None,
        "fid": metrics.get("fid"),
        "fid_extractor": metrics.get("extractor"),
        "fid_split": Path(source).name if source else None,
    }
