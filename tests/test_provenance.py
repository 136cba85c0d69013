"""Bundle provenance: paths recorded relative to the project, and the plain summary the page shows."""

from __future__ import annotations

import json
from pathlib import Path

from dcgan.provenance import TEST_METRICS_FILE, relative, relative_chain, summary


def test_relative_paths(tmp_path: Path) -> None:
    assert relative(tmp_path / "runs" / "a" / "ckpt.npz", tmp_path) == "runs/a/ckpt.npz"
    assert relative("data/x/train", tmp_path) == "data/x/train"  # relative already: kept
    assert relative(tmp_path.parent / "elsewhere", tmp_path) == "../elsewhere"
    chain = {"path": str(tmp_path / "models" / "b"), "step": 3, "init_generator": {"path": str(tmp_path / "m")}}
    assert relative_chain(chain, tmp_path) == {"path": "models/b", "step": 3, "init_generator": {"path": "m"}}


def test_summary_adds_up_the_stages_and_reads_the_test_fid(tmp_path: Path) -> None:
    info = {
        "provenance": {
            "data": "data/faces/train",
            "images_seen": 640,
            "train_seconds": 5400.0,
            "init_generator": {"images_seen": 320, "train_seconds": 1800.0, "path": "models/old"},
        }
    }
    assert summary(info) == {
        "data": "data/faces/train",
        "images_seen": 960,
        "train_hours": 2.0,
        "fid": None,
        "fid_extractor": None,
        "fid_split": None,
    }
    metrics = {"fid": 12.5, "extractor": "inception-fid", "reference": {"source": "data/faces/test"}}
    (tmp_path / TEST_METRICS_FILE).write_text(json.dumps(metrics))
    shown = summary(info, tmp_path)
    assert (shown["fid"], shown["fid_extractor"], shown["fid_split"]) == (12.5, "inception-fid", "test")
    assert summary({"provenance": {"images_seen": 5}})["train_hours"] is None  # unknown time: not made up
