"""`dcgan select`: checkpoints scored on validation after training, the best kept and exported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from conftest import blob_images, tiny_config
from PIL import Image

from dcgan import checkpoint
from dcgan.bundle import export, load_generator
from dcgan.data import PrepareOptions, prepare
from dcgan.evaluation.selection import read_evals, select_checkpoint
from dcgan.training import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("select")
    src = root / "src"
    src.mkdir()
    for i, image in enumerate(blob_images(80, 40, seed=5)):
        Image.fromarray(image).save(src / f"{i:03d}.png")
    prepare(src, root / "split", PrepareOptions(size=32), split="0.7,0.3,0.0", workers=1, progress=False)
    run = root / "run"
    train(tiny_config(steps=12, checkpoint_every=3, keep_checkpoints=10), root / "split" / "train", run, progress=False)
    return run, root / "split" / "val"


def test_select_scores_every_checkpoint_and_keeps_the_best(trained, tmp_path) -> None:
    run, val = trained
    result = select_checkpoint(run, val, n=24, extractor_name="pixels", progress=False)
    rows = result["rows"]
    assert [r["step"] for r in rows] == [3, 6, 9, 12]
    assert len({r["fid"] for r in rows}) == 4  # different weights, different scores
    best = min(rows, key=lambda r: r["fid"])
    assert result["best"] == best
    assert json.loads((run / "checkpoints" / "best" / "best.json").read_text()) == best
    assert [s for s, _ in checkpoint.list_checkpoints(run / "checkpoints" / "best")] == [best["step"]]
    bundle = export(run, tmp_path / "model", best=True)
    provenance = json.loads((bundle / "model.json").read_text())["provenance"]
    assert provenance["step"] == best["step"] and provenance["selected_by"]["by"] == "dcgan select"
    assert {r["weights"] for r in rows} == {"g_ema"}  # what export ships is what is scored

    # a second selection reuses the logged scores instead of recomputing them
    logged = len(read_evals(run / "evals.jsonl"))
    again = select_checkpoint(run, val, steps=[6, 12], n=24, extractor_name="pixels", progress=False)
    assert len(read_evals(run / "evals.jsonl")) == logged
    assert [r["step"] for r in again["rows"]] == [6, 12]
    assert again["best"]["fid"] == min(r["fid"] for r in rows if r["step"] in (6, 12))
    assert [s for s, _ in checkpoint.list_checkpoints(run / "checkpoints" / "best")] == [again["best"]["step"]]

    # the raw generators are other weights: scored anew, not taken from the EMA's rows
    raw = select_checkpoint(run, val, steps=[12], n=24, extractor_name="pixels", progress=False, raw=True)
    assert len(read_evals(run / "evals.jsonl")) == logged + 1
    ema_fid = next(r for r in rows if r["step"] == 12)["fid"]
    assert raw["best"]["weights"] == "generator" and raw["best"]["fid"] != ema_fid


def test_select_cli_and_its_errors(trained) -> None:
    run, val = trained
    command = [sys.executable, "-m", "dcgan.cli", "select", str(run), "--data", str(val), "--extractor", "pixels"]
    done = subprocess.run(
        [*command, "--samples", "24", "--min-step", "9", "--no-progress"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "best: step" in done.stdout and "export it with" in done.stdout
    missing = subprocess.run([*command, "--steps", "4"], capture_output=True, text=True)
    assert missing.returncode == 2 and "no checkpoint for steps [4]" in missing.stderr


def test_export_averages_generator_weights_over_checkpoints(trained, tmp_path) -> None:
    import numpy as np

    from dcgan.errors import ConfigError

    run, _ = trained
    bundle = export(run, tmp_path / "avg", dtype="float32", average=[12, 6, 9])
    info = json.loads((bundle / "model.json").read_text())
    assert info["provenance"]["averaged_steps"] == [6, 9, 12] and info["provenance"]["step"] == 12
    saved = [checkpoint.read(checkpoint.checkpoint_path(run / "checkpoints", s))[0] for s in (6, 9, 12)]
    for group, raw in (("g_ema", False), ("generator", True)):  # the EMA generators by default, G with raw
        bundle = export(run, tmp_path / group, dtype="float32", average=[12, 6, 9], raw=raw)
        exported = [v.numpy() for v in load_generator(bundle).generator.variables]  # the order checkpoints use
        means = [np.mean([c[group][i] for c in saved], axis=0) for i in range(len(saved[0][group]))]
        assert len(exported) == len(means)
        assert all(np.allclose(e, m, atol=1e-6) for e, m in zip(exported, means, strict=True)), group
        assert not all(np.array_equal(e, a) for e, a in zip(exported, saved[-1][group], strict=True))
    with pytest.raises(ConfigError, match="without step or best"):
        export(run, tmp_path / "bad", best=True, average=[6, 9])
    done = subprocess.run(
        [sys.executable, "-m", "dcgan.cli", "export", str(run), "--out", str(tmp_path / "cli"), "--average", "3,99"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "no checkpoint for step 99" in done.stderr


def test_select_reuses_the_scores_training_logged(trained, tmp_path) -> None:
    _, val = trained
    watched = tmp_path / "watched"
    cfg = tiny_config(steps=6, checkpoint_every=3, keep_checkpoints=10, eval_every=3, eval_samples=24)
    train(cfg.replace(eval_extractor="pixels"), val.parent / "train", watched, progress=False)
    logged = read_evals(watched / "evals.jsonl")
    assert [(r["step"], r["by"]) for r in logged] == [(3, "dcgan train"), (6, "dcgan train")]
    best_json = json.loads((watched / "checkpoints" / "best" / "best.json").read_text())
    assert best_json == min(logged, key=lambda r: r["fid"])  # the keeper's row, as logged

    fresh = tmp_path / "fresh"  # the same run without its log: select must compute the same scores
    shutil.copytree(watched, fresh)
    (fresh / "evals.jsonl").unlink()
    reused = select_checkpoint(watched, val, n=24, extractor_name="pixels", progress=False)
    assert reused["rows"] == logged and len(read_evals(watched / "evals.jsonl")) == 2
    computed = select_checkpoint(fresh, val, n=24, extractor_name="pixels", progress=False)["rows"]
    assert [r["by"] for r in computed] == ["dcgan select"] * 2
    assert set(computed[0]) == set(logged[0])  # one row format for both writers
    for mine, theirs in zip(computed, logged, strict=True):
        assert mine["fid"] == pytest.approx(theirs["fid"], rel=1e-4)
        assert {k: mine[k] for k in ("step", "weights", "samples", "z_seed", "reference")} == {
            k: theirs[k] for k in ("step", "weights", "samples", "z_seed", "reference")
        }
    other_z = select_checkpoint(watched, val, n=20, extractor_name="pixels", progress=False)  # another z: scored anew
    assert len(read_evals(watched / "evals.jsonl")) == 4 and {r["samples"] for r in other_z["rows"]} == {20}
