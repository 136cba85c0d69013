"""Training: a short run learns something, checkpoints resume exactly, signals checkpoint, errors are clear."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_config, tiny_train_command
from tensorflow.python.framework import config as tf_config

from dcgan import checkpoint
from dcgan.bundle import export, load_generator
from dcgan.cli import main
from dcgan.errors import CheckpointError, ConfigError, DataError
from dcgan.model import DCGAN
from dcgan.provenance import relative_chain
from dcgan.training import train
from dcgan.training.hooks import CollapseWatch
from dcgan.training.start import start_from_bundle


def weights(run_dir) -> dict[str, list[np.ndarray]]:
    return checkpoint.read(checkpoint.resolve(run_dir / "checkpoints"))[0]


def test_short_run_has_finite_changing_losses_and_side_outputs(tiny_cache, tmp_path) -> None:
    run = tmp_path / "run"
    result = train(tiny_config(steps=12), tiny_cache, run, progress=False)
    assert result["step"] == 12 and not result["interrupted"]
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 13))
    for key in ("d_loss", "g_loss", "d_real", "d_fake"):
        values = [r[key] for r in rows]
        assert all(np.isfinite(values)) and len(set(values)) > 3, key
    assert [s for s, _ in checkpoint.list_checkpoints(run / "checkpoints")] == [5, 10, 12]
    assert sorted(p.name for p in (run / "samples").glob("*.png")) == [
        "step_000000005.png",
        "step_000000010.png",
        "step_000000012.png",
    ]
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    assert json.loads((run / "config.json").read_text())["steps"] == 12
    _, meta = checkpoint.read(checkpoint.resolve(run / "checkpoints"))
    assert meta["step"] == 12 and meta["images_seen"] == 12 * 8
    keras.utils.set_random_seed(tiny_config().seed)  # the run's initial weights, as train draws them
    initial = DCGAN(tiny_config()).generator.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(initial, weights(run)["generator"], strict=True))


def test_lazy_r1_logs_the_last_penalty_computed(tiny_cache, tmp_path) -> None:
    cfg = tiny_config(steps=7, r1_gamma=1.0, r1_every=3, log_every=1, checkpoint_every=10, sample_every=10)
    train(cfg, tiny_cache, tmp_path / "run", progress=False)
    r1 = [json.loads(line)["r1"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(r1) == 7 and r1[0] == r1[1] == r1[2] and r1[3] == r1[4] == r1[5]  # computed at steps 1, 4, 7
    assert len({r1[0], r1[3], r1[6]}) == 3


def test_keep_last_k_checkpoints(tiny_cache, tmp_path) -> None:
    train(tiny_config(steps=10, checkpoint_every=2, keep_checkpoints=2), tiny_cache, tmp_path / "r", progress=False)
    assert [s for s, _ in checkpoint.list_checkpoints(tmp_path / "r" / "checkpoints")] == [8, 10]


@pytest.mark.parametrize(("augment", "d_steps"), [("", 1), ("color,translation,cutout", 2)])
def test_resume_gives_the_same_weights(tiny_cache, tmp_path, augment: str, d_steps: int) -> None:
    tf.config.experimental.enable_op_determinism()
    try:
        cfg = tiny_config(checkpoint_every=100, augment=augment, d_steps=d_steps)
        train(cfg.replace(steps=10), tiny_cache, tmp_path / "straight", progress=False)
        train(cfg.replace(steps=5), tiny_cache, tmp_path / "split", progress=False)
        train(cfg.replace(steps=10), tiny_cache, tmp_path / "split", resume=True, progress=False)
    finally:
        tf_config.disable_op_determinism()  # not in the public API; keeps the other tests on fast kernels
    straight, resumed = weights(tmp_path / "straight"), weights(tmp_path / "split")
    assert straight.keys() == resumed.keys()
    for group in straight:
        for a, b in zip(straight[group], resumed[group], strict=True):
            np.testing.assert_array_equal(a, b, err_msg=group)


def test_resume_without_ema_starts_the_average_from_g(tiny_cache, tmp_path, capsys) -> None:
    """A run from before the EMA (or with g_ema 0) resumed with it: the average starts at the resumed G."""
    run = tmp_path / "r"
    train(tiny_config(steps=2, g_ema=0.0), tiny_cache, run, progress=False)
    before = weights(run)
    assert "g_ema" not in before
    train(tiny_config(steps=3, g_ema=0.999), tiny_cache, run, resume=True, progress=False)
    assert "has no EMA generator" in capsys.readouterr().err
    after = weights(run)
    decay = min(0.999, (1 + 2) / (10 + 2))  # the update after step index 2
    for start, current, average in zip(before["generator"], after["generator"], after["g_ema"], strict=True):
        np.testing.assert_allclose(average, decay * start + (1 - decay) * current, rtol=1e-5, atol=1e-6)
    with pytest.raises(CheckpointError, match="only some of the checkpoints hold an EMA generator"):
        export(run, tmp_path / "mixed", average=[2, 3])
    assert (export(run, tmp_path / "raw", average=[2, 3], raw=True) / "model.json").exists()


def test_resume_may_change_training_knobs_and_records_it(tiny_cache, tmp_path, capsys) -> None:
    """Decaying D's learning rate and turning on label smoothing mid-run: used, saved, recorded, exported."""
    run = tmp_path / "r"
    train(tiny_config(steps=2), tiny_cache, run, progress=False)
    changed = tiny_config(steps=4, lr_d=1e-4, label_smoothing=0.1)
    train(changed, tiny_cache, run, resume=True, progress=False)
    assert "resuming at step 2 with label_smoothing 0.0 → 0.1, lr_d 0.0002 → 0.0001" in capsys.readouterr().err
    train(changed.replace(steps=5), tiny_cache, run, resume=True, progress=False)  # no change: nothing added

    saved, meta = checkpoint.read(checkpoint.resolve(run / "checkpoints"))
    record = [{"step": 2, "label_smoothing": [0.0, 0.1], "lr_d": [0.0002, 0.0001]}]
    assert meta["step"] == 5 and meta["config_changes"] == record
    optimizer = DCGAN(tiny_config()).d_optimizer
    rate = next(i for i, v in enumerate(optimizer.variables) if v.path.endswith("learning_rate"))
    assert saved["d_optimizer"][rate] == np.float32(1e-4)  # the restored 2e-4 was replaced by the new rate
    assert saved["g_optimizer"][rate] == np.float32(2e-4)
    provenance = json.loads((export(run, tmp_path / "bundle") / "model.json").read_text())["provenance"]
    assert provenance["config_changes"] == record
    with pytest.raises(ConfigError, match=r"different config \(beta1: run has 0.5, asked 0.9\)"):
        train(changed.replace(steps=6, beta1=0.9), tiny_cache, run, resume=True, progress=False)


def test_fine_tuning_starts_from_a_bundle(tiny_cache, tiny_model, tmp_path) -> None:
    """--init-generator: G and its average start at the bundle's weights, D trains alone for `d_warmup` steps, the
    average keeps its full decay from the start, the starting point is scored (not the warm-up's steps, in which
    G rests), and a resume needs no bundle."""
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_model, bundle)
    start = load_generator(bundle).generator.get_weights()
    trainable = [v.trainable for v in DCGAN(tiny_config()).generator.variables]  # BN statistics move in D steps too
    cfg = tiny_config(z_prior="normal", init_generator=str(bundle), d_warmup=2, seed=5, steps=2, checkpoint_every=100)
    cfg = cfg.replace(eval_every=2, eval_samples=24, eval_extractor="pixels")
    run = tmp_path / "ft"
    train(cfg, tiny_cache, run, val=tiny_cache, progress=False)
    rested = weights(run)
    for group in ("generator", "g_ema"):
        for a, b, learned in zip(start, rested[group], trainable, strict=True):
            if learned:
                np.testing.assert_array_equal(a, b, err_msg=group)
    fresh = DCGAN(cfg.replace(init_generator="")).discriminator.get_weights()  # D: the seed's init, then trained
    assert any(not np.allclose(a, b) for a, b in zip(fresh, rested["discriminator"], strict=True))
    assert [json.loads(line)["step"] for line in (run / "evals.jsonl").read_text().splitlines()] == [0]  # 2: warm-up
    assert (run / "samples" / "step_000000000.png").exists()

    shutil.rmtree(bundle)  # the checkpoints hold G now
    train(cfg.replace(steps=3), tiny_cache, run, resume=True, val=tiny_cache, progress=False)
    moved, meta = checkpoint.read(checkpoint.resolve(run / "checkpoints"))
    for a, g, average, learned in zip(start, moved["generator"], moved["g_ema"], trainable, strict=True):
        if learned:  # one G step after the warm-up: the average moved by (1 − 0.999) of G's move, no warm-up
            np.testing.assert_allclose(average - a, 0.001 * (g - a), atol=1e-6)
    assert any(not np.allclose(a, g) for a, g in zip(start, moved["generator"], strict=True))
    assert meta["init_generator"]["path"] == str(bundle.resolve()) and meta["init_generator"]["step"] == 4
    provenance = json.loads((export(run, tmp_path / "tuned") / "model.json").read_text())["provenance"]
    assert provenance["init_generator"] == relative_chain(meta["init_generator"])  # shipped without machine paths
    again = tiny_config(z_prior="normal", init_generator=str(tmp_path / "tuned"), steps=1, checkpoint_every=100)
    train(again, tiny_cache, tmp_path / "again", progress=False)
    chain = checkpoint.read(checkpoint.resolve(tmp_path / "again" / "checkpoints"))[1]["init_generator"]
    assert chain["step"] == 3 and chain["init_generator"] == relative_chain(meta["init_generator"])  # both runs
    with pytest.raises(ConfigError, match=r"does not fit this run's model \(gf: bundle has 8, run has 4\)"):
        shutil.copytree(tiny_model, bundle)
        train(cfg.replace(gf=4, eval_every=0), tiny_cache, tmp_path / "narrower", progress=False)


def test_fine_tuning_starts_from_the_bundles_discriminator(tiny_model, tmp_path) -> None:
    """`export --discriminator` ships D beside G; fine-tuning from that bundle starts D there (fp16-rounded),
    unless `init_discriminator` is off; a bundle without D cannot give one; an averaged bundle ships its last D."""
    run_dir = Path(json.loads((tiny_model / "model.json").read_text())["provenance"]["checkpoint"]).parents[1]
    bundle = tmp_path / "with_d"
    main(["export", str(run_dir), "--out", str(bundle), "--discriminator"])  # exits (SystemExit) on an error
    saved, _ = checkpoint.read(checkpoint.resolve(run_dir / "checkpoints"))
    info = json.loads((bundle / "model.json").read_text())
    assert info["provenance"]["discriminator"] == "D of step 4 (discriminator.npz), to fine-tune"
    cfg = tiny_config(z_prior="normal", init_generator=str(bundle))
    gan = DCGAN(cfg)
    fresh = gan.discriminator.get_weights()
    assert start_from_bundle(gan, bundle)["discriminator"] == "the bundle's"
    for a, b in zip(saved["discriminator"], gan.discriminator.get_weights(), strict=True):
        np.testing.assert_array_equal(a.astype(np.float16).astype(np.float32), b)
    assert any(not np.allclose(a, b) for a, b in zip(fresh, saved["discriminator"], strict=True))

    for source, on in ((bundle, False), (tiny_model, True)):  # switched off, or a bundle without D: D stays fresh
        gan = DCGAN(cfg.replace(init_discriminator=on))
        fresh = gan.discriminator.get_weights()
        assert start_from_bundle(gan, source)["discriminator"] == "fresh"
        for a, b in zip(fresh, gan.discriminator.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    export(run_dir, tmp_path / "averaged", average=[4], discriminator=True)  # an average ships its last step's D
    info = json.loads((tmp_path / "averaged" / "model.json").read_text())
    assert info["provenance"]["discriminator"] == "D of step 4, the last averaged (discriminator.npz), to fine-tune"
    with np.load(tmp_path / "averaged" / "discriminator.npz") as averaged, np.load(bundle / "discriminator.npz") as d:
        assert sorted(averaged) == sorted(d) and all(np.array_equal(averaged[k], d[k]) for k in d)


def test_an_average_can_continue_the_average_the_fine_tuning_started_from(tiny_model, tiny_cache, tmp_path) -> None:
    """`export --average STEPS --average-start N`: the starting bundle's generator joins the mean of the run's
    checkpoints as N of them; refused when that bundle's weights changed since the run started, or without a mean."""
    start = shutil.copytree(tiny_model, tmp_path / "start")
    run = tmp_path / "ft"
    train(tiny_config(steps=10, z_prior="normal", init_generator=str(start)), tiny_cache, run, progress=False)
    joined = export(run, tmp_path / "joined", dtype="float32", average=[5, 10], init_weight=2)
    record = json.loads((joined / "model.json").read_text())["provenance"]["averaged_with_start"]
    assert record["weight"] == 2 and record["checkpoints"] == 2 and len(record["generator_sha256"]) == 64
    saved = [checkpoint.read(checkpoint.checkpoint_path(run / "checkpoints", s))[0]["g_ema"] for s in (5, 10)]
    origin = [v.numpy() for v in load_generator(start).generator.variables]
    exported = [v.numpy() for v in load_generator(joined).generator.variables]
    for got, a, b, o in zip(exported, *saved, origin, strict=True):
        np.testing.assert_allclose(got, (a + b + 2 * o) / 4, atol=1e-5)
    with pytest.raises(ConfigError, match="goes with an average"):
        export(run, tmp_path / "no-mean", init_weight=2)
    with np.load(start / "generator.npz") as weights:
        np.savez(start / "generator.npz", **{k: v + np.float16(0.01) for k, v in weights.items()})
    with pytest.raises(ConfigError, match="no longer the one the run started from"):
        export(run, tmp_path / "changed", average=[5, 10], init_weight=2)


def test_a_non_finite_loss_stops_the_run_and_keeps_its_checkpoints(tiny_cache, tmp_path, monkeypatch) -> None:
    real = DCGAN.train_step

    def diverging(self, data, train_g=True, r1=True):
        logs = real(self, data, train_g, r1)
        return {**logs, "d_loss": tf.constant(np.nan)} if int(data[1]) >= 6 else logs

    monkeypatch.setattr(DCGAN, "train_step", diverging)
    with pytest.raises(FloatingPointError, match=r"non-finite loss at step 7: .*; the last checkpoint \(step 5\)"):
        train(tiny_config(steps=10), tiny_cache, tmp_path / "r", progress=False)
    assert [s for s, _ in checkpoint.list_checkpoints(tmp_path / "r" / "checkpoints")] == [5]


def test_collapse_watch_warns_once_on_a_collapse_not_on_healthy_swings(capsys) -> None:
    rng = np.random.default_rng(0)
    watch = CollapseWatch()
    healthy = np.clip(rng.normal(0.15, 0.15, 3000), 0, 1)
    healthy[1000:1040] = 0.0  # a short stretch where D wins, as healthy runs have
    collapse = rng.uniform(0, 0.004, 400)
    for step, fake in enumerate([*healthy, *collapse], start=1):
        watch.after_step(step, {"d_fake": fake})
        if step == 3000:
            assert capsys.readouterr().err == ""
    err = capsys.readouterr().err
    assert err.count("warning: D has rejected nearly every fake") == 1
    onset = int(err.split("since about step ")[1].split(" ")[0])
    assert 3000 < onset < 3080 and f"before step {onset}" in err


def test_collapse_watch_is_quiet_in_the_d_warm_up(capsys) -> None:
    """G rests for the warm-up's steps and D learns to reject its fakes: no warning, but a collapse after is seen."""
    watch = CollapseWatch(after=1500)
    for step in range(1, 1501):
        watch.after_step(step, {"d_fake": 0.001})
    assert capsys.readouterr().err == ""
    for step in range(1501, 1800):
        watch.after_step(step, {"d_fake": 0.001})
    assert "since about step 1501 " in capsys.readouterr().err


def test_d_steps_and_label_smoothing_train(tiny_cache, tmp_path) -> None:
    """Two D updates per step, each on its own batch_size real images: a step draws 16, images_seen counts them."""
    cfg = tiny_config(steps=3, d_steps=2, label_smoothing=0.1, z_prior="normal")
    result = train(cfg, tiny_cache, tmp_path / "r", progress=False)
    assert result["step"] == 3 and np.isfinite(result["d_loss"])
    _, meta = checkpoint.read(checkpoint.resolve(tmp_path / "r" / "checkpoints"))
    assert meta["images_seen"] == 3 * 8 * 2
    epoch = train(cfg.replace(steps=0, epochs=1.0), tiny_cache, tmp_path / "epoch", progress=False)
    assert epoch["step"] == 64 // 16  # one pass over the 64 images


def test_bf16_mixed_precision_runs(tiny_cache, tmp_path) -> None:
    try:
        result = train(tiny_config(steps=2, mixed_precision="bf16"), tiny_cache, tmp_path / "r", progress=False)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert np.isfinite(result["g_loss"])
    saved = weights(tmp_path / "r")  # bf16 compute, float32 variables: the checkpoint resumes under either precision
    assert {a.dtype for group in ("generator", "discriminator", "g_ema") for a in saved[group]} == {np.dtype("float32")}
    keras.utils.set_random_seed(tiny_config().seed)  # the run's initial weights, as train draws them
    initial = DCGAN(tiny_config()).generator.get_weights()
    assert any(not np.allclose(a, b) for a, b in zip(initial, saved["generator"], strict=True))  # and G learnt


def test_clear_errors(tiny_cache, tmp_path) -> None:
    with pytest.raises(DataError, match="no prepared cache"):
        train(tiny_config(steps=1), tmp_path / "nothing", tmp_path / "r", progress=False)
    photos = tmp_path / "photos"  # a folder of images, not yet prepared: the error gives the prepare command
    photos.mkdir()
    (photos / "a.JPG").write_bytes(b"")
    with pytest.raises(DataError, match=r"it holds images: run `dcgan prepare .*photos --out data/photos` first"):
        train(tiny_config(steps=1), photos, tmp_path / "r", progress=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    np.save(empty / "images.npy", np.zeros((0, 32, 32, 3), np.uint8))
    with pytest.raises(DataError, match="is empty"):
        train(tiny_config(steps=1), empty, tmp_path / "r", progress=False)
    with pytest.raises(DataError, match="expects 64×64×3"):
        train(tiny_config(steps=1, image_size=64), tiny_cache, tmp_path / "r", progress=False)
    with pytest.raises(ConfigError, match="--steps N or --epochs N"):
        train(tiny_config(), tiny_cache, tmp_path / "r", progress=False)
    with pytest.raises(ConfigError, match="holds no run"):
        train(tiny_config(steps=1), tiny_cache, tmp_path / "r", resume=True, progress=False)
    train(tiny_config(steps=1), tiny_cache, tmp_path / "r", progress=False)
    with pytest.raises(ConfigError, match=r"different config \(gf: run has 8, asked 16\)"):
        train(tiny_config(steps=1, gf=16), tiny_cache, tmp_path / "r", progress=False)
    with pytest.raises(ConfigError, match="already has checkpoints up to step 1"):
        train(tiny_config(steps=1), tiny_cache, tmp_path / "r", progress=False)
    assert train(tiny_config(steps=2, gf=16), tiny_cache, tmp_path / "r", force=True, progress=False)["step"] == 2


def test_epochs_and_resume_extends(tiny_cache, tmp_path) -> None:
    train(tiny_config(epochs=1.0), tiny_cache, tmp_path / "r", progress=False)  # 64 images / batch 8
    assert checkpoint.list_checkpoints(tmp_path / "r" / "checkpoints")[-1][0] == 8
    assert train(tiny_config(epochs=1.5), tiny_cache, tmp_path / "r", resume=True, progress=False)["step"] == 12


def test_resume_drops_the_log_rows_of_steps_it_redoes(tiny_cache, tmp_path) -> None:
    run = tmp_path / "run"
    train(tiny_config(steps=12), tiny_cache, run, progress=False)
    (run / "checkpoints" / "ckpt-000000012.npz").unlink()  # killed after logging step 12, before its checkpoint
    (run / "evals.jsonl").write_text('{"step": 5, "fid": 9.0}\n{"step": 11, "fid": 8.0}\n')
    train(tiny_config(steps=14), tiny_cache, run, resume=True, progress=False)
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").open()] == list(range(1, 15))
    assert [json.loads(line)["step"] for line in (run / "evals.jsonl").open()] == [5]
    assert not list(run.glob(".*.tmp"))


def test_sigterm_writes_a_checkpoint_and_resume_continues(tiny_cache, tmp_path) -> None:
    run = tmp_path / "run"
    command = tiny_train_command(tiny_cache, run, "--checkpoint-every 100000 --sample-every 100000 --log-every 1")
    process = subprocess.Popen(
        [*command, "--steps", "100000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    deadline = time.time() + 120
    while not (run / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "checkpoint written" in err
    steps = [s for s, _ in checkpoint.list_checkpoints(run / "checkpoints")]
    assert len(steps) == 1 and steps[0] > 0
    assert not list((run / "checkpoints").glob(".*.tmp"))
    resumed = subprocess.run(
        [*command, "--steps", str(steps[0] + 2), "--resume"], capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    assert checkpoint.list_checkpoints(run / "checkpoints")[-1][0] == steps[0] + 2


def test_eval_every_keeps_the_best_checkpoint(tmp_path) -> None:
    from conftest import blob_images
    from PIL import Image

    from dcgan.bundle import export
    from dcgan.data import PrepareOptions, prepare

    src = tmp_path / "src"
    src.mkdir()
    for i, image in enumerate(blob_images(80, 40, seed=4)):
        Image.fromarray(image).save(src / f"{i:03d}.png")
    prepare(src, tmp_path / "split", PrepareOptions(size=32), split="0.7,0.3,0.0", workers=1, progress=False)
    cfg = tiny_config(steps=9, eval_every=3, eval_samples=24, eval_extractor="pixels", checkpoint_every=100)
    single = tmp_path / "single"  # a cache without splits: no val to find
    single.mkdir()
    np.save(single / "images.npy", blob_images(16, 32))
    with pytest.raises(ConfigError, match="--eval-every needs a validation split"):
        train(cfg, single, tmp_path / "r0", progress=False)
    run = tmp_path / "run"
    train(cfg, tmp_path / "split" / "train", run, progress=False)  # finds split/val by itself
    rows = [json.loads(line) for line in (run / "evals.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [3, 6, 9] and all(r["extractor"] == "pixels" for r in rows)
    best = min(rows, key=lambda r: r["fid"])
    assert json.loads((run / "checkpoints" / "best" / "best.json").read_text()) == best
    assert [s for s, _ in checkpoint.list_checkpoints(run / "checkpoints" / "best")] == [best["step"]]
    bundle = export(run, tmp_path / "model", best=True)
    provenance = json.loads((bundle / "model.json").read_text())["provenance"]
    assert provenance["step"] == best["step"] and provenance["selected_by"]["fid"] == best["fid"]
