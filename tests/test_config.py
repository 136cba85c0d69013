"""The flat config: validation messages, JSON round trip, the z contract, CLI overrides."""

from __future__ import annotations

import re

import pytest

from dcgan.cli import build_parser
from dcgan.cli.train import config_from_args
from dcgan.config import Config, from_dict, load
from dcgan.errors import ConfigError


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"image_size": 48}, "image_size must be one of"),
        ({"channels": 2}, "channels must be 1 or 3"),
        ({"z_prior": "cauchy"}, "z_prior must be one of"),
        ({"z_dim": 0}, "z_dim must be >= 1"),
        ({"lr_g": -1.0}, "lr_g must be > 0"),
        ({"beta1": 1.0}, "beta1 must be in [0, 1)"),
        ({"batch_size": "64"}, "batch_size must be int"),
        ({"flip": 1}, "flip must be bool"),
        ({"lr_d": float("nan")}, "lr_d must be finite"),
        ({"mixed_precision": "fp8"}, "mixed_precision must be one of"),
        ({"label_smoothing": 0.7}, "label_smoothing must be in"),
        ({"d_warmup": -1}, "d_warmup must be >= 0"),
        ({"r1_gamma": -0.1}, "r1_gamma must be >= 0"),
        ({"r1_every": 0}, "r1_every must be >= 1"),
    ],
)
def test_invalid_values_fail_clearly(changes: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        Config(**changes)


def test_unknown_field_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown config field.*learning_rate"):
        from_dict({"learning_rate": 1e-3})


def test_json_round_trip_and_z_contract(tmp_path) -> None:
    cfg = Config(z_prior="normal", z_dim=64, gf=128)
    cfg.save(tmp_path / "config.json")
    again = load(tmp_path / "config.json")
    assert again == cfg
    assert again.z_contract() == {"dim": 64, "prior": "normal", "low": -3.0, "high": 3.0}
    assert Config().z_contract() == {"dim": 100, "prior": "uniform", "low": -1.0, "high": 1.0}


def test_cli_flags_override_base_config(tmp_path) -> None:
    Config(gf=32, lr_g=1e-3).save(tmp_path / "base.json")
    args = build_parser().parse_args(
        [
            "train",
            "--data",
            "x",
            "--run-dir",
            "y",
            "--config",
            str(tmp_path / "base.json"),
            "--lr-g",
            "5e-4",
            "--no-flip",
            "--z-prior",
            "normal",
        ]
    )
    cfg = config_from_args(args)
    assert (cfg.gf, cfg.lr_g, cfg.flip, cfg.z_prior) == (32, 5e-4, False, "normal")


def test_train_takes_the_image_shape_from_the_cache_unless_told(tiny_cache, tmp_path) -> None:
    def config(*flags: str) -> Config:
        args = build_parser().parse_args(["train", "--data", str(tiny_cache), "--run-dir", str(tmp_path), *flags])
        return config_from_args(args)

    assert (config().image_size, config().channels) == (32, 3)  # tiny_cache holds 32×32 RGB
    assert config("--image-size", "64").image_size == 64  # a flag wins; training then says the cache does not fit
    Config(image_size=128).save(tmp_path / "base.json")
    assert config("--config", str(tmp_path / "base.json")).image_size == 128


def test_cli_reports_invalid_value_before_work(tmp_path, capsys) -> None:
    from dcgan.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--data", str(tmp_path), "--run-dir", str(tmp_path / "run"), "--image-size", "48"])
    assert exit_info.value.code == 2
    assert "image_size must be one of" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_r1_is_due_on_every_kth_step_when_on() -> None:
    assert [Config(r1_gamma=1.0, r1_every=4).r1_due(step) for step in range(9)] == [True, False, False, False] * 2 + [
        True
    ]
    assert all(Config(r1_gamma=1.0).r1_due(step) for step in range(5))
    assert not any(Config(r1_every=4).r1_due(step) for step in range(5))
