"""Hyperparameter search: trials kept in SQLite, resume, retries, winner-only test evaluation, reports, bad inputs."""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from conftest import blob_images, tiny_config

optuna = pytest.importorskip("optuna")

from dcgan import tuning  # noqa: E402
from dcgan.cli import tune as tune_cli  # noqa: E402
from dcgan.data import PrepareOptions, prepare  # noqa: E402
from dcgan.errors import ConfigError, DataError  # noqa: E402
from dcgan.tuning import objective  # noqa: E402

# Tiny models (gf/df 8, batch 8) and 32 images per trial: 4 training steps each.
TINY_SPACE = {
    "batch_size": [8],
    "gf": [8],
    "df": [8],
    "lr_d": {"low": 1e-4, "high": 1e-3, "log": True},
    "lr_g": {"low": 1e-4, "high": 1e-3, "log": True},
    "beta1": [0.0, 0.5],
    "label_smoothing": {"low": 0.0, "high": 0.2},
    "z_prior": ["uniform", "normal"],
}
BUDGET = 32
SEARCHED = ["lr_d", "lr_g", "beta1", "label_smoothing", "z_prior"]


@pytest.fixture(scope="module")
def split_cache(tmp_path_factory) -> Path:
    """A split cache (train/val/test) of 32×32 blobs, as `dcgan prepare --split` makes it."""
    from PIL import Image

    src = tmp_path_factory.mktemp("tune_src")
    for i, image in enumerate(blob_images(64, 40, seed=3)):
        Image.fromarray(image).save(src / f"{i:03d}.png")
    out = tmp_path_factory.mktemp("tune_caches") / "blobs"
    prepare(src, out, PrepareOptions(size=32), split="0.6,0.2,0.2", workers=1, progress=False)
    return out


def run(data: Path, out: Path, trials: int, **options) -> dict:
    settings = dict(
        study_name="tiny",
        out=out,
        extractor="pixels",
        eval_samples=24,
        base=tiny_config(),
        space=TINY_SPACE,
        kid_subsets=10,
    )
    return tuning.tune(data, trials, options.pop("budget_images", BUDGET), **{**settings, **options})


def load(out: Path, name: str = "tiny"):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{(out / 'study.db').resolve()}")


@pytest.fixture
def evaluations(monkeypatch) -> list[tuple[str, str]]:
    """Every evaluate_model call as (split, model dir)."""
    calls: list[tuple[str, str]] = []
    real = objective.evaluate_model

    def spy(model_dir, *args, **kwargs):
        calls.append((kwargs.get("split", "val"), Path(model_dir).resolve().as_posix()))
        return real(model_dir, *args, **kwargs)

    monkeypatch.setattr(objective, "evaluate_model", spy)
    return calls


def test_search_resume_reports_and_winner_only_test(split_cache, tmp_path, evaluations, capsys) -> None:
    out = tmp_path / "tune"
    first = run(split_cache, out, trials=2)

    with sqlite3.connect(out / "study.db") as db:  # the trials are in the SQLite storage
        assert db.execute("select count(*) from trials where state = 'COMPLETE'").fetchone() == (2,)
    study = load(out)
    before = {t.number: (t.value, t.params) for t in study.trials}
    assert sorted(before) == [0, 1] and all(t.state.name == "COMPLETE" for t in study.trials)
    assert [split for split, _ in evaluations] == ["val", "val"]
    for t in study.trials:
        assert t.user_attrs["steps"] == BUDGET // 8
        assert (out / t.user_attrs["model_dir"] / "model.json").exists()
        assert set(t.params) == set(SEARCHED)
        config = json.loads((out / t.user_attrs["run_dir"] / "config.json").read_text())
        assert (config["gf"], config["df"], config["batch_size"], config["z_dim"]) == (8, 8, 8, 16)
        assert config["lr_d"] == t.params["lr_d"] and config["z_prior"] == t.params["z_prior"]

    best = study.best_trial
    assert first["best"]["trial"] == best.number and first["best"]["params"] == best.params
    assert first["best"]["val"]["fid"] == best.value and first["best"]["val"]["kid_std"] >= 0
    saved = json.loads((out / "results.json").read_text())
    assert saved["best"]["params"] == best.params and saved["test"] is None
    assert json.loads((out / "best_config.json").read_text())["lr_g"] == best.params["lr_g"]
    printed = capsys.readouterr().out
    assert f"* best on the validation split: trial {best.number}" in printed
    assert f"{best.params['lr_d']:.4g}" in printed and "add --test" in printed
    assert "trial 1 [" in printed and f"→ FID {study.trials[1].value:.3f}" in printed
    rows = list(csv.DictReader((out / "trials.csv").open()))
    assert [r["best"] for r in rows].count("True") == 1
    assert float(next(r for r in rows if r["best"] == "True")["lr_g"]) == pytest.approx(best.params["lr_g"])
    assert "<circle" in (out / "fid.svg").read_text()

    # resume through the CLI with one more trial and --test: trials are added, the old ones stay
    tiny_config().save(tmp_path / "base.json")
    parser = argparse.ArgumentParser()
    tune_cli.add_commands(parser.add_subparsers())
    argv = f"tune --data {split_cache} --trials 3 --budget-images {BUDGET} --study tiny --out {out} --test"
    argv += f" --extractor pixels --samples 24 --kid-subsets 10 --base-config {tmp_path / 'base.json'}"
    args = parser.parse_args([*argv.split(), "--space", json.dumps(TINY_SPACE)])
    args.func(args)
    study = load(out)
    assert [t.number for t in study.trials] == [0, 1, 2]
    assert {t.number: (t.value, t.params) for t in study.trials if t.number < 2} == before
    best = study.best_trial
    winner_dir = (out / best.user_attrs["model_dir"]).resolve().as_posix()
    assert [c for c in evaluations if c[0] == "test"] == [("test", winner_dir)]  # the winner, once
    assert len([c for c in evaluations if c[0] == "val"]) == 3
    saved = json.loads((out / "results.json").read_text())
    assert saved["test"]["trial"] == best.number and saved["best"]["trial"] == best.number
    assert saved["test"]["fid"] >= 0 and "precision" in saved["test"]
    assert f"test split, winner trial {best.number}" in capsys.readouterr().out

    # the same command again: nothing new is trained or evaluated
    run(split_cache, out, trials=3, test=True)
    assert len(load(out).trials) == 3 and len(evaluations) == 4

    # other settings for the same study are refused
    with pytest.raises(ConfigError, match=r"other settings.*budget_images"):
        run(split_cache, out, trials=4, budget_images=64)


def test_failed_trial_is_retried_from_its_checkpoint(split_cache, tmp_path, monkeypatch) -> None:
    out = tmp_path / "tune"
    real = objective.evaluate_model

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(objective, "evaluate_model", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run(split_cache, out, trials=1)
    (failed,) = load(out).trials
    assert failed.state.name == "FAIL" and "disk full" in failed.user_attrs["note"]
    run_dir = out / failed.user_attrs["run_dir"]
    assert (run_dir / "checkpoints" / "ckpt-000000004.npz").exists()
    assert json.loads((out / "results.json").read_text())["trials"][0]["state"] == "FAIL"

    monkeypatch.setattr(objective, "evaluate_model", real)
    run(split_cache, out, trials=1)
    first, retry = load(out).trials
    assert first.state.name == "FAIL" and retry.state.name == "COMPLETE"
    assert retry.user_attrs["retry_of"] == 0 and retry.params == failed.params
    assert retry.user_attrs["run_dir"] == failed.user_attrs["run_dir"]
    # resumed at its last checkpoint (step 4 of 4): no step was trained twice
    assert len((run_dir / "metrics.jsonl").read_text().splitlines()) == 4


def test_interrupted_search_exits_130_and_resumes_the_trial(split_cache, tmp_path, monkeypatch, capsys) -> None:
    import dcgan.training

    out = tmp_path / "tune"
    real = dcgan.training.train

    def stopped_halfway(cfg, *args, **kwargs):  # as if Ctrl-C came at step 2: train checkpoints and returns
        result = real(cfg.replace(steps=2), *args, **kwargs)
        return {**result, "interrupted": True}

    monkeypatch.setattr(dcgan.training, "train", stopped_halfway)
    parser = argparse.ArgumentParser()
    tune_cli.add_commands(parser.add_subparsers())
    (tmp_path / "space.json").write_text(json.dumps(TINY_SPACE))
    tiny_config().save(tmp_path / "base.json")
    argv = f"tune --data {split_cache} --trials 1 --budget-images {BUDGET} --study tiny --out {out} --extractor pixels"
    argv += f" --samples 24 --kid-subsets 10 --space {tmp_path / 'space.json'} --base-config {tmp_path / 'base.json'}"
    args = parser.parse_args(argv.split())
    with pytest.raises(SystemExit) as stop:
        args.func(args)
    assert stop.value.code == 130 and "rerun the same command to resume" in capsys.readouterr().err
    (interrupted,) = load(out).trials
    assert interrupted.state.name == "FAIL" and interrupted.user_attrs["note"] == "interrupted at step 2"

    monkeypatch.setattr(dcgan.training, "train", real)
    run(split_cache, out, trials=1)
    _, retry = load(out).trials
    assert retry.state.name == "COMPLETE" and retry.params == interrupted.params
    steps = [json.loads(line)["step"] for line in (out / retry.user_attrs["run_dir"] / "metrics.jsonl").open()]
    assert steps == [1, 2, 3, 4]  # steps 3 and 4 continued from the step-2 checkpoint


@pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")
def test_trial_of_a_dead_process_is_failed_and_retried(split_cache, tmp_path) -> None:
    out = tmp_path / "tune"
    out.mkdir()
    storage = f"sqlite:///{(out / 'study.db').resolve()}"
    study = tuning.open_study("tiny", storage, heartbeat_interval=1, grace_period=1)
    trial = study.ask()  # a trial whose process died mid-training: RUNNING, heartbeat no longer updated
    params = tuning.suggest(trial, tuning.resolve_space(tiny_config(), TINY_SPACE))
    study._storage.record_heartbeat(trial._trial_id)
    time.sleep(2.2)

    run(split_cache, out, trials=1, storage=storage, heartbeat_interval=1, grace_period=1)
    dead, retry = load(out).trials
    assert dead.state.name == "FAIL"
    assert retry.state.name == "COMPLETE" and retry.params == params and retry.user_attrs["retry_of"] == 0


def test_search_space(tmp_path) -> None:
    base = tiny_config()
    default = tuning.resolve_space(base.replace(batch_size=64), None)
    assert default["lr_d"] == {"type": "float", "low": 5e-5, "high": 1e-3, "log": True}
    assert default["batch_size"] == {"type": "categorical", "choices": [32, 64, 128]}
    space = tuning.resolve_space(base, {"gf": [8], "beta1": 0, "z_prior": None, "batch_size": {"low": 4, "high": 8}})
    assert space["gf"] == {"type": "fixed", "value": 8} and space["beta1"] == {"type": "fixed", "value": 0.0}
    assert "z_prior" not in space and space["batch_size"]["type"] == "int"
    assert tuning.resolve_space(base, {**space, "z_prior": None}) == space  # the canonical form reads back
    cfg = tuning.trial_config(base, space, {"batch_size": 6, "lr_d": 3e-4}, budget_images=100)
    assert (cfg.steps, cfg.batch_size, cfg.beta1, cfg.lr_d, cfg.gf) == (16, 6, 0.0, 3e-4, 8)
    (tmp_path / "space.json").write_text('{"gf": [8, 16]}')
    assert tuning.load_space(str(tmp_path / "space.json")) == {"gf": [8, 16]}

    for bad, message in [
        ({"lr": [1e-4]}, "unknown config field 'lr'"),
        ({"image_size": [32, 64]}, "cannot be searched"),
        ({"steps": [10]}, "cannot be searched"),
        ({"beta1": {"low": 0.5, "high": 1.0}}, "beta1 must be in"),
        ({"lr_g": {"low": 0.0, "high": 1e-3, "log": True}}, "log range needs low > 0"),
        ({"lr_g": {"low": 1e-3, "high": 1e-4}}, "low must be < high"),
        ({"z_prior": {"low": 0, "high": 1}}, "not a range"),
        ({"batch_size": [32, 1.5]}, "batch_size must be int"),
        ({"gf": []}, "no choices"),
        ({"label_smoothing": [0.0, 0.0]}, "repeats"),
    ]:
        with pytest.raises(ConfigError, match=message):
            tuning.resolve_space(base, bad)
    for text in ("{not json", str(tmp_path / "missing.json"), "[1, 2]"):
        with pytest.raises(ConfigError):
            tuning.load_space(text)


def test_bad_inputs(split_cache, tiny_cache, tmp_path) -> None:
    with pytest.raises(DataError, match="not a split cache"):
        run(tiny_cache, tmp_path / "a", trials=1)
    no_val = tmp_path / "no_val"
    shutil.copytree(split_cache, no_val, ignore=shutil.ignore_patterns("val"))
    with pytest.raises(DataError, match="no validation split"):
        run(no_val, tmp_path / "b", trials=1)
    no_test = tmp_path / "no_test"
    shutil.copytree(split_cache, no_test, ignore=shutil.ignore_patterns("test"))
    with pytest.raises(DataError, match="no test split"):
        run(no_test, tmp_path / "c", trials=1, test=True)
    for trials in (0, -1):
        with pytest.raises(ConfigError, match="--trials must be an integer >= 1"):
            run(split_cache, tmp_path / "d", trials=trials)
    with pytest.raises(ConfigError, match="--budget-images 4 is less than one batch"):
        run(split_cache, tmp_path / "e", trials=1, budget_images=4)
    with pytest.raises(DataError, match="fewer than the largest batch"):
        run(split_cache, tmp_path / "f", trials=1, space={**TINY_SPACE, "batch_size": [8, 128]}, budget_images=256)
    with pytest.raises(DataError, match="64×64"):
        run(split_cache, tmp_path / "g", trials=1, base=tiny_config(image_size=64))
    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "tune.json").write_text('{"study": "other"}')
    with pytest.raises(ConfigError, match="holds the search 'other'"):
        run(split_cache, tmp_path / "h", trials=1)
    assert not list(tmp_path.glob("*/trials"))  # nothing was trained


def test_plot_draws_each_trial_and_the_best_so_far(tmp_path) -> None:
    rows = [{"trial": n, "fid": fid} for n, fid in enumerate([5.0, 3.0, None, 4.0])]  # trial 2 did not complete
    svg = tuning.write_svg_plot(rows, tmp_path / "fid.svg", "dcgan tune: <tiny>", "validation FID").read_text()
    assert re.findall(r"<title>(.*?)</title>", svg) == ["trial 0: FID 5", "trial 1: FID 3", "trial 3: FID 4"]
    assert "dcgan tune: &lt;tiny&gt;" in svg  # the title is escaped
    (points,) = re.findall(r'<polyline points="([^"]*)"', svg)
    xy = [tuple(map(float, p.split(","))) for p in points.split()]
    # a step down at trial 1 (FID 5 -> 3), then flat: trial 3's FID 4 is not a new best
    assert [y for _, y in xy] == [xy[0][1], xy[0][1], xy[2][1], xy[2][1]] and xy[2][1] > xy[0][1]
    assert xy[1][0] == xy[2][0] < xy[3][0]
    empty = tuning.write_svg_plot([{"trial": 0, "fid": None}], tmp_path / "empty.svg", "t", "y").read_text()
    assert "no completed trials yet" in empty and "<polyline" not in empty
