"""Export / load keeps the z contract; every sampling mode writes its picture and the z it used."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import tiny_config
from PIL import Image

from dcgan import checkpoint, load_generator, sampling
from dcgan.bundle import assign_variables, export, save_variables
from dcgan.cli import main
from dcgan.errors import CheckpointError, ConfigError, ModelError, read_model_json
from dcgan.model import build_generator


def test_z_contract_round_trip_and_outputs(tiny_model) -> None:
    model = load_generator(tiny_model)
    info = json.loads((tiny_model / "model.json").read_text())
    assert info["z"] == {"dim": 16, "prior": "normal", "low": -3.0, "high": 3.0} == model.z_contract
    assert info["provenance"]["step"] == 4 and info["provenance"]["images_seen"] == 32
    assert info["weights_dtype"] == "float16" and "weights_float32" not in info  # every tiny weight fits float16
    z = model.sample_z(5, seed=3)
    np.testing.assert_array_equal(z, model.sample_z(5, seed=3))
    assert z.shape == (5, 16) and z.std() > 0.5  # normal prior, not uniform [-1, 1]
    batch = model.generate(z)
    assert batch.shape == (5, 32, 32, 3) and batch.dtype == np.uint8
    np.testing.assert_array_equal(model.generate(z[0]), batch[:1])  # one z or a batch, same faces


def test_exported_weights_match_the_checkpoint(tiny_model) -> None:
    """The bundle holds the checkpoint's EMA generator (the default, g_ema 0.999), not its raw G."""
    info = json.loads((tiny_model / "model.json").read_text())
    assert info["provenance"]["weights"] == "EMA of G, decay 0.999"
    assert not Path(info["provenance"]["checkpoint"]).is_absolute()  # relative to the project: no machine paths
    assert not Path(info["provenance"]["data"]).is_absolute()
    saved, _ = checkpoint.read(info["provenance"]["checkpoint"])
    assert any(not np.allclose(a, b) for a, b in zip(saved["g_ema"], saved["generator"], strict=True))
    generator = build_generator(tiny_config(z_prior="normal"))
    for variable, array in zip(generator.variables, saved["g_ema"], strict=True):
        variable.assign(array)
    model = load_generator(tiny_model)
    z = model.sample_z(4, seed=0)
    reference = np.clip(np.rint((np.asarray(generator(z, training=False)) + 1) * 127.5), 0, 255)
    assert np.abs(reference - model.generate(z)).max() <= 2  # fp16 weights: at most 2 grey levels off


def test_values_beyond_float16_are_saved_as_float32(tmp_path) -> None:
    """A BN moving variance of 67,821 (D of the shipped run, step 29,000) must not turn into inf in a fp16 bundle."""
    variables = [keras.Variable(np.zeros(3, np.float32), name=name) for name in ("small", "large")]
    arrays = [np.array([0.5, -2.0, 1e-3], np.float32), np.array([1.0, 67820.89, -7e4], np.float32)]
    assert save_variables(tmp_path / "w.npz", variables, arrays, "float16") == [variables[1].path]
    with np.load(tmp_path / "w.npz") as saved:
        assert [saved[v.path].dtype for v in variables] == [np.float16, np.float32]
    assign_variables(tmp_path / "w.npz", variables)
    np.testing.assert_allclose(np.asarray(variables[0]), arrays[0], rtol=1e-3)
    np.testing.assert_array_equal(np.asarray(variables[1]), arrays[1])
    with np.errstate(over="ignore"):  # what the old export wrote: 67,821 as float16 is inf
        np.savez(tmp_path / "bad.npz", **{v.path: a.astype(np.float16) for v, a in zip(variables, arrays, strict=True)})
    with pytest.raises(ModelError, match="large holds non-finite values"):
        assign_variables(tmp_path / "bad.npz", variables)


def test_bad_z_and_bad_bundle(tiny_model, tmp_path) -> None:
    model = load_generator(tiny_model)
    with pytest.raises(ModelError, match="16 numbers"):
        model.generate(np.zeros(15))
    with pytest.raises(ModelError, match="NaN"):
        model.generate(np.full(16, np.nan))
    np.testing.assert_array_equal(model.generate(np.full(16, 3.5)), model.generate(np.full(16, 3.5)))  # past ±3σ: ok
    with pytest.raises(ModelError, match="not a model bundle"):
        load_generator(tmp_path)
    run_dir = Path(json.loads((tiny_model / "model.json").read_text())["provenance"]["checkpoint"]).parents[1]
    with pytest.raises(CheckpointError, match=r"no checkpoint for step 99 in .*; have \[4\]"):
        export(run_dir, tmp_path / "x", step=99)
    assert not (tmp_path / "x").exists()


def test_unreadable_bundle_json_is_a_model_error(tiny_model, tmp_path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(tiny_model, bundle)
    for text, message in [("{not json", "cannot read"), ("[1, 2]", "not a JSON object"), ("", "cannot read")]:
        (bundle / "model.json").write_text(text)
        with pytest.raises(ModelError, match=message):
            load_generator(bundle)
    (bundle / "part.json").write_text('{"format": 2}')
    with pytest.raises(ModelError, match="format 2; this version reads format 1"):
        read_model_json(bundle / "part.json", "missing", fmt=1)
    assert read_model_json(bundle / "part.json", "missing") == {"format": 2}
    with pytest.raises(ModelError, match=r"^nothing here$"):
        read_model_json(bundle / "absent.json", "nothing here")


def test_interpolation_maths() -> None:
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    line = sampling.interpolate(a, b, 3, "linear")
    np.testing.assert_allclose(line, [[1, 0], [0.5, 0.5], [0, 1]])
    arc = sampling.interpolate(a, b, 3, "spherical")
    np.testing.assert_allclose(np.linalg.norm(arc, axis=1), 1.0, atol=1e-6)  # stays on the sphere
    np.testing.assert_allclose(arc[1], [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-6)
    np.testing.assert_allclose(sampling.arithmetic(np.ones((2, 2)), np.zeros((3, 2)), np.full((1, 2), 2.0)), [3, 3])
    swept = sampling.sweep(np.zeros(4, np.float32), 2, -1, 1, 5)
    np.testing.assert_allclose(swept[:, 2], np.linspace(-1, 1, 5))
    assert np.all(swept[:, [0, 1, 3]] == 0)
    with pytest.raises(ConfigError, match="steps must be >= 2"):
        sampling.interpolate(a, b, 1)


@pytest.mark.parametrize(
    ("mode", "args", "outputs", "rows"),
    [
        ("grid", ["--grid-size", "3", "--z-seed", "5"], ["grid.png", "grid_z.npy", "grid.json"], 9),
        ("interpolate", ["--a", "1", "--b", "2", "--steps", "6", "--method", "linear"], ["interpolate_linear.png"], 6),
        ("interpolate", ["--steps", "4", "--method", "spherical"], ["interpolate_spherical.png"], 4),
        ("sweep", ["--z", "7", "--dims", "0,5", "--steps", "5"], ["sweep.png", "sweep.json"], 10),
        ("gif", ["--keys", "1,2,3", "--steps", "4"], ["walk.gif", "walk.json"], 12),
        ("arithmetic", ["--a", "1,2", "--b", "3", "--c", "4,5,6"], ["arithmetic.png", "arithmetic.json"], 4),
    ],
)
def test_every_sample_mode(tiny_model, tmp_path, mode: str, args: list[str], outputs: list[str], rows: int) -> None:
    main(["sample", str(tiny_model), mode, "--out", str(tmp_path), *args])
    z = np.load(next(tmp_path.glob("*_z.npy")))
    assert z.shape == (rows, 16)
    for name in outputs:
        if name.endswith((".png", ".gif")):  # a picture that opens, with room for every row of z
            with Image.open(tmp_path / name) as picture:
                assert picture.size[0] >= 32 and picture.size[1] >= 32
        elif name.endswith(".json"):  # how the picture was made, pointing at its z
            saved = json.loads((tmp_path / name).read_text())
            assert saved["mode"] == mode
            assert (tmp_path / saved["z_file"]).exists() and "z" not in saved
    model = load_generator(tiny_model)
    if mode == "grid":  # the saved z reproduces the picture exactly
        np.testing.assert_array_equal(z, model.sample_z(9, 5))
        first = np.asarray(Image.open(tmp_path / "grid.png"))[2:34, 2:34]
        np.testing.assert_array_equal(first, model.generate(z[0])[0])
    if mode == "gif":
        assert Image.open(tmp_path / "walk.gif").n_frames == 12
    if mode == "sweep":
        np.testing.assert_allclose(z[:5, 0], np.linspace(-3, 3, 5))  # the normal prior's dial range


def test_grid_enlarges_faces_for_judging_them_by_eye(tiny_model, tmp_path, capsys) -> None:
    main(["sample", str(tiny_model), "grid", "--grid-size", "2", "--scale", "3", "--out", str(tmp_path)])
    picture = np.asarray(Image.open(tmp_path / "grid.png"))
    assert picture.shape[:2] == (2 + 2 * (96 + 2), 2 + 2 * (96 + 2))
    face = load_generator(tiny_model).generate(np.load(tmp_path / "grid_z.npy")[:1])[0]
    lanczos = np.asarray(Image.fromarray(face).resize((96, 96), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(picture[2:98, 2:98], lanczos)
    assert json.loads((tmp_path / "grid.json").read_text())["scale"] == 3
    with pytest.raises(SystemExit):
        main(["sample", str(tiny_model), "grid", "--scale", "0", "--out", str(tmp_path / "bad")])
    assert "scale must be between 1 and 8" in capsys.readouterr().err


def test_sample_reads_z_files_and_reports_bad_specs(tiny_model, tmp_path, capsys) -> None:
    model = load_generator(tiny_model)
    np.save(tmp_path / "a.npy", model.sample_z(1, 11))
    (tmp_path / "b.json").write_text(json.dumps(model.sample_z(1, 12).tolist()))
    main(
        [
            "sample",
            str(tiny_model),
            "interpolate",
            "--a",
            str(tmp_path / "a.npy"),
            "--b",
            str(tmp_path / "b.json"),
            "--out",
            str(tmp_path / "o"),
            "--steps",
            "3",
        ]
    )
    z = np.load(tmp_path / "o" / "interpolate_spherical_z.npy")
    np.testing.assert_allclose(z[0], model.sample_z(1, 11)[0], atol=1e-6)
    with pytest.raises(SystemExit):
        main(["sample", str(tiny_model), "interpolate", "--a", "x.txt", "--out", str(tmp_path / "p")])
    assert "neither seeds" in capsys.readouterr().err


def test_export_with_standing_statistics_changes_only_bn_statistics(tiny_model, tmp_path, capsys) -> None:
    info = json.loads((tiny_model / "model.json").read_text())
    run_dir = Path(info["provenance"]["checkpoint"]).parents[1]
    main(["export", str(run_dir), "--out", str(tmp_path / "standing"), "--standing-stats", "5"])
    assert capsys.readouterr().out.strip() == str(tmp_path / "standing")  # the command names the bundle it wrote
    standing = json.loads((tmp_path / "standing" / "model.json").read_text())
    assert standing["provenance"]["bn_statistics"] == "standing: 5 batches of 8 z"
    assert standing["provenance"]["checkpoint"] == info["provenance"]["checkpoint"]  # the same step, by default
    with np.load(tiny_model / "generator.npz") as old, np.load(tmp_path / "standing" / "generator.npz") as new:
        assert sorted(old) == sorted(new)
        moving = [k for k in old if "moving" in k]
        assert len(moving) == 6  # mean and variance of G's three BN layers (32×32: project, deconv1, deconv2)
        assert all(not np.array_equal(old[k], new[k]) for k in moving)
        assert all(np.array_equal(old[k], new[k]) for k in old if k not in moving)
    with pytest.raises(SystemExit):
        main(["export", str(run_dir), "--out", str(tmp_path / "bad"), "--standing-stats", "-1"])
    assert not (tmp_path / "bad").exists()
