"""Photo inversion (dcgan.inversion): the encoder in the bundle, the solver inside the box, the scores."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
from conftest import ENCODER_OPTIONS as OPTIONS
from conftest import FIXTURES

from dcgan.bundle import load_generator
from dcgan.cli import main
from dcgan.errors import ConfigError, ModelError
from dcgan.inversion.refine import STEPS
from dcgan.inversion.runtime import ENCODER_DIR, INFO_FILE, WEIGHTS
from dcgan.inversion.train import train_encoder


def test_encoder_is_stored_in_the_bundle_with_its_scores(inverted_model):
    info = json.loads((inverted_model / ENCODER_DIR / INFO_FILE).read_text())
    assert info["steps"] == OPTIONS.steps and info["images_seen"] == 2 * OPTIONS.steps * OPTIONS.batch_size
    assert len(info["generator_sha256"]) == 64
    assert info["val"]["encoder"]["solver_steps"] == 0 and info["val"]["solved"]["solver_steps"] == STEPS
    for label in ("encoder", "solved"):
        scores = {k: v for k, v in info["val"][label].items() if k != "solver_steps"}
        assert set(scores) == {"psnr", "ssim", "perceptual"} and all(np.isfinite(v) for v in scores.values())


def test_invert_gives_z_inside_the_box_and_beats_the_guess(inverted_model):
    model = load_generator(inverted_model)
    target = model.generate(model.sample_z(4, seed=3))  # faces the generator can draw exactly
    z = model.invert(target)
    assert z.shape == (4, model.z_dim) and z.dtype == np.float32
    assert z.min() >= model.z_contract["low"] and z.max() <= model.z_contract["high"]
    guess = model.inverter.invert(target, steps=0)
    solved = model.inverter.invert(target, steps=40)
    assert solved.steps == 40 and guess.steps == 0
    assert np.mean(solved.scores["psnr"]) > np.mean(guess.scores["psnr"]) + 1.0
    assert solved.faces.shape == target.shape and solved.faces.dtype == np.uint8


def test_progress_is_reported_per_chunk(inverted_model):
    model = load_generator(inverted_model)
    heard = []
    model.inverter.invert(model.generate(model.sample_z(1, seed=0)), steps=25, progress=lambda d, n: heard.append(d))
    assert heard == [10, 20, 25]


@pytest.mark.parametrize(
    "images",
    [np.zeros((2, 64, 64, 3), np.uint8), np.zeros((2, 32, 32, 3), np.float32), np.zeros((0, 32, 32, 3), np.uint8)],
)
def test_invert_refuses_images_of_another_shape_or_type(inverted_model, images):
    with pytest.raises(ModelError, match="uint8 faces of 32×32×3"):
        load_generator(inverted_model).invert(images)


def test_a_bundle_without_encoder_or_with_another_generator_says_how_to_fix_it(inverted_model, tmp_path):
    copy = shutil.copytree(inverted_model, tmp_path / "copy")
    shutil.rmtree(copy / ENCODER_DIR)
    with pytest.raises(ModelError, match="dcgan encoder train"):
        load_generator(copy).invert(np.zeros((1, 32, 32, 3), np.uint8))
    other = shutil.copytree(inverted_model, tmp_path / "other")
    with np.load(other / "generator.npz") as saved:
        arrays = {k: v + np.float16(0.01) for k, v in saved.items()}
    np.savez(other / "generator.npz", **arrays)
    with pytest.raises(ModelError, match="other generator weights"):
        load_generator(other).invert(np.zeros((1, 32, 32, 3), np.uint8))


def test_encoder_training_resumes_from_its_checkpoint(inverted_model, tiny_cache, tmp_path):
    from dcgan import checkpoint

    copy = shutil.copytree(inverted_model, tmp_path / "copy")
    work = tmp_path / "work"
    train_encoder(copy, tiny_cache, replace(OPTIONS, steps=3), work=work, log=lambda _: None)
    logged: list[str] = []
    train_encoder(copy, tiny_cache, replace(OPTIONS, steps=6), work=work, resume=True, log=logged.append)
    assert [step for step, _ in checkpoint.list_checkpoints(work)] == [3, 6]
    assert json.loads((copy / ENCODER_DIR / INFO_FILE).read_text())["steps"] == 6
    # the checkpoint decides where a resumed run came from: a later --init-encoder does not rewrite its history
    train_encoder(copy, tiny_cache, replace(OPTIONS, steps=7), work=work, resume=True, log=logged.append, init=copy)
    assert "init_encoder" not in json.loads((copy / ENCODER_DIR / INFO_FILE).read_text())
    assert not any(line.startswith("warm start") for line in logged)
    assert any("--init-encoder" in line and "not used" in line for line in logged)


def test_encoder_training_can_start_from_another_generators_encoder(inverted_model, tiny_cache, tmp_path):
    """A warm start after a fine-tune: the new generator's encoder begins as the old one (here with a learning rate
    of 0, so its weights stay exactly that; BN's moving statistics still move) and records where it came from; a
    width that does not fit is refused."""
    refitted = shutil.copytree(inverted_model, tmp_path / "refitted")
    with np.load(refitted / "generator.npz") as saved:
        np.savez(refitted / "generator.npz", **{k: v + np.float16(0.01) for k, v in saved.items()})
    still = replace(OPTIONS, steps=1, learning_rate=0.0)
    train_encoder(refitted, tiny_cache, still, work=tmp_path / "work", log=lambda _: None, init=inverted_model)
    info = json.loads((refitted / ENCODER_DIR / INFO_FILE).read_text())
    old = json.loads((inverted_model / ENCODER_DIR / INFO_FILE).read_text())
    assert info["init_encoder"]["generator_sha256"] == old["generator_sha256"] != info["generator_sha256"]
    more = replace(still, steps=2)
    train_encoder(refitted, tiny_cache, more, work=tmp_path / "work", log=lambda _: None, resume=True)
    assert json.loads((refitted / ENCODER_DIR / INFO_FILE).read_text())["init_encoder"] == info["init_encoder"]
    with np.load(refitted / ENCODER_DIR / WEIGHTS) as new, np.load(inverted_model / ENCODER_DIR / WEIGHTS) as before:
        weights = [k for k in new if "moving" not in k]
        assert sorted(new) == sorted(before) and len(weights) > 4
        assert all(np.array_equal(new[k], before[k]) for k in weights)
    model = load_generator(refitted)
    assert model.invert(model.generate(model.sample_z(1, seed=0))).shape == (1, model.z_dim)
    with pytest.raises(ConfigError, match="--width"):
        wider = replace(still, width=OPTIONS.width * 2)
        train_encoder(refitted, tiny_cache, wider, work=tmp_path / "w2", init=refitted)


def test_dcgan_invert_writes_face_and_z_and_counts_a_skipped_photo(inverted_model, tmp_path, capsys):
    pytest.importorskip("mtcnn")
    shutil.copy(FIXTURES / "celeba-182640.jpg", tmp_path / "me.jpg")
    (tmp_path / "notes.jpg").write_bytes(b"not a photo")
    out = tmp_path / "out"
    photos = [str(tmp_path / "me.jpg"), str(tmp_path / "notes.jpg")]
    main(["invert", *photos, "--model", str(inverted_model), "--out", str(out), "--steps", "3"])
    printed = capsys.readouterr().out
    assert "skipped " + photos[1] in printed and "1 inverted" in printed and "1 skipped" in printed
    assert sorted(p.name for p in out.iterdir()) == ["me.json", "me_crop.png", "me_face.png", "me_z.npy"]
    record = json.loads((out / "me.json").read_text())
    assert record["z_file"] == "me_z.npy" and "z" not in record and record["solver_steps"] == 3
    z = np.load(out / "me_z.npy")
    assert z.shape == (16,) and z.min() >= -1 and z.max() <= 1  # the tiny model's box

    with pytest.raises(SystemExit) as stopped:
        main(["invert", photos[1], "--model", str(inverted_model), "--out", str(tmp_path / "none")])
    assert stopped.value.code == 2 and "no face to invert" in capsys.readouterr().err
    assert not (tmp_path / "none").exists()
