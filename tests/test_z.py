"""The z contract in code: sampling from the config's prior and range, checking, clipping."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_config

from dcgan.errors import ModelError
from dcgan.z import (
    check_z,
    clip_z,
    contract_of,
    fixed_z,
    prior_std,
    sample_z,
    sample_z_stateless,
    seeded_z,
    truncate,
)

UNIFORM = {"dim": 4, "prior": "uniform", "low": -0.5, "high": 2.0}
NORMAL = {"dim": 3, "prior": "normal", "low": -3.0, "high": 3.0}


def test_uniform_samples_fill_the_contract_range_not_plus_minus_one() -> None:
    z = sample_z(UNIFORM, 4000, seed=1)
    assert z.shape == (4000, 4) and z.dtype == np.float32
    assert z.min() >= -0.5 and z.max() < 2.0 and z.min() < -0.45 and z.max() > 1.95
    stateless = sample_z_stateless(UNIFORM, 4000, tf.constant([1, 2], tf.int64)).numpy()
    assert stateless.shape == (4000, 4) and stateless.min() >= -0.5 and stateless.max() < 2.0
    assert stateless.min() < -0.45 and stateless.max() > 1.95


def test_sampling_is_deterministic_for_a_seed() -> None:
    np.testing.assert_array_equal(sample_z(UNIFORM, 5, 7), sample_z(UNIFORM, 5, 7))
    assert not np.array_equal(sample_z(UNIFORM, 5, 7), sample_z(UNIFORM, 5, 8))
    seed = tf.constant([3, 9], tf.int64)
    np.testing.assert_array_equal(sample_z_stateless(NORMAL, 6, seed), sample_z_stateless(NORMAL, 6, seed))
    assert not np.array_equal(sample_z_stateless(NORMAL, 6, seed), sample_z_stateless(NORMAL, 6, seed + 1))


def test_the_normal_prior_is_the_standard_normal() -> None:
    for z in (sample_z(NORMAL, 20000, 0), sample_z_stateless(NORMAL, 20000, tf.constant([0, 0], tf.int64)).numpy()):
        assert abs(z.mean()) < 0.03 and abs(z.std() - 1.0) < 0.03
        assert np.abs(z).max() > 3.0  # samples pass ±3σ now and then: the range is the dial's, not the prior's


def test_a_config_is_read_through_its_contract() -> None:
    cfg = tiny_config(z_prior="uniform", z_dim=5)
    assert contract_of(cfg) == {"dim": 5, "prior": "uniform", "low": -1.0, "high": 1.0}
    np.testing.assert_array_equal(sample_z(cfg, 3, 4), sample_z(contract_of(cfg), 3, 4))
    np.testing.assert_array_equal(fixed_z(cfg, 6), sample_z(cfg, 6, [cfg.seed, 2024]))  # grids and val scores
    assert not np.array_equal(fixed_z(cfg, 6), fixed_z(cfg.replace(seed=cfg.seed + 1), 6))


def test_check_z_accepts_one_vector_or_a_batch() -> None:
    one = check_z(UNIFORM, [0.0, 1.0, 2.0, -0.5])
    assert one.shape == (1, 4) and one.dtype == np.float32
    assert check_z(UNIFORM, np.zeros((3, 4))).shape == (3, 4)


@pytest.mark.parametrize(
    ("z", "message"),
    [
        ([0.0] * 3, r"z must hold vectors of 4 numbers, got shape \[1, 3\]"),
        (np.zeros((2, 2, 4)), r"got shape \[2, 2, 4\]"),
        ([[0.0] * 4, [0.0] * 3], "ragged or non-numeric"),
        (["a"] * 4, "ragged or non-numeric"),
        ([[0.0] * 4, [0.0, np.nan, 0.0, 0.0]], r"NaN or infinite values .*: z\[1\]\[1\] = nan"),
        ([0.0, 0.0, np.inf, 0.0], r"NaN or infinite .*z\[0\]\[2\] = inf"),
        ([0.0, 0.0, 0.0, 1e39], r"NaN or infinite .*z\[0\]\[3\] = 1e\+39"),  # inf as float32
        ([[0.0] * 4, [0.0, 0.0, 2.5, 0.0]], r"z\[1\]\[2\] = 2.5 is outside the prior's range \[-0.5, 2\] \(uniform\)"),
        ([-0.6, 0.0, 0.0, 0.0], r"z\[0\]\[0\] = -0.6 is outside"),
    ],
)
def test_check_z_names_what_is_wrong(z, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        check_z(UNIFORM, z)


def test_check_z_names_the_input_and_may_allow_values_past_the_range() -> None:
    with pytest.raises(ModelError, match=r"^b\[0\]\[0\] = 4 is outside"):
        check_z(NORMAL, [4.0, 0.0, 0.0], what="b")
    np.testing.assert_array_equal(check_z(NORMAL, [4.0, 0.0, 0.0], within_range=False), [[4.0, 0.0, 0.0]])
    with pytest.raises(ModelError, match="NaN"):
        check_z(NORMAL, [np.nan, 0.0, 0.0], within_range=False)


def test_clip_z_keeps_z_inside_the_range() -> None:
    clipped = clip_z(UNIFORM, np.array([[-3.0, 0.25, 2.0, 7.0]]))
    np.testing.assert_array_equal(clipped, [[-0.5, 0.25, 2.0, 2.0]])
    assert clipped.dtype == np.float32
    np.testing.assert_array_equal(check_z(UNIFORM, clipped), clipped)


def test_truncation_pulls_z_toward_the_centre_along_its_direction() -> None:
    contract = {"dim": 50, "prior": "uniform", "low": -1.0, "high": 3.0}  # centre 1
    full = sample_z(contract, 200, seed=4)
    half = sample_z(contract, 200, seed=4, truncation=0.5)
    np.testing.assert_allclose(half - 1.0, 0.5 * (full - 1.0), atol=1e-6)  # same seed, same direction
    assert half.min() >= 0.0 and half.max() <= 2.0
    normal = {"dim": 50, "prior": "normal", "low": -3.0, "high": 3.0}
    assert sample_z(normal, 4000, seed=0, truncation=0.7).std() == pytest.approx(0.7, rel=0.02)
    np.testing.assert_array_equal(truncate(contract, full, 1.0), full)


def test_prior_std_is_the_spread_of_samples_along_a_unit_direction() -> None:
    direction = np.array([0.6, 0.0, 0.8, 0.0])
    for contract in (UNIFORM, {**NORMAL, "dim": 4}):
        along = sample_z(contract, 20000, seed=3) @ direction
        assert along.std() == pytest.approx(prior_std(contract), rel=0.03)
    assert prior_std(UNIFORM) == pytest.approx(2.5 / np.sqrt(12))


@pytest.mark.parametrize("psi", [0, -0.5, 1.5, float("nan"), "0.5"])
def test_truncation_outside_zero_one_is_refused(psi) -> None:
    with pytest.raises(ModelError, match=r"truncation must be in \(0, 1\]"):
        sample_z({"dim": 4, "prior": "uniform", "low": -1.0, "high": 1.0}, 2, seed=0, truncation=psi)


def test_a_typed_seed_gives_the_pages_z_number_for_number() -> None:
    cases = json.loads((Path(__file__).parent / "fixtures" / "seeded_z.json").read_text())["cases"]
    for case in cases:
        z = seeded_z(case["z"], case["seed"], case["truncation"])
        assert z.dtype == np.float32 and z.shape == (case["z"]["dim"],)
        # the uniform prior is exact; Box-Muller's log and cos may differ by an ulp between JavaScript and C
        np.testing.assert_allclose(z, case["expected"], rtol=0, atol=0 if case["z"]["prior"] == "uniform" else 1e-6)
    assert not np.array_equal(seeded_z(cases[1]["z"], 1), seeded_z(cases[1]["z"], 2))
