"""Net2WiderNet: a wider generator starts as the narrower one's function, then its copied channels grow apart."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import tiny_config

from dcgan import checkpoint
from dcgan.bundle import export, load_generator
from dcgan.errors import ConfigError
from dcgan.model import DCGAN, build_generator
from dcgan.training import train
from dcgan.training.start import start_from_bundle
from dcgan.widen import channel_map, shares, widen_generator


def duplicate_channels(generator) -> int:
    """How many of the 4×4 layer's channels repeat another's incoming weights exactly."""
    (kernel,) = generator.get_layer("project").get_weights()
    columns = kernel.reshape(kernel.shape[0], 16, -1).transpose(2, 0, 1).reshape(kernel.shape[-1] // 16, -1)
    return len(columns) - len(np.unique(columns, axis=0))


@pytest.mark.parametrize("gf", [8, 12, 16])
def test_the_wider_generator_draws_the_same_images(gf: int) -> None:
    narrow = build_generator(tiny_config(gf=8))
    rng = np.random.default_rng(0)
    for layer in narrow.layers:  # BN parameters and statistics away from their 1 / 0 start, so that copies matter
        layer.set_weights([w + rng.normal(0, 0.3, w.shape).astype(np.float32) ** 2 for w in layer.get_weights()])
    wide = build_generator(tiny_config(gf=gf))
    widen_generator(narrow, wide, seed=1)
    z = rng.normal(size=(8, 16)).astype(np.float32)
    for training in (False, True):  # stored statistics, and the batch's (a copy's equal its original's)
        np.testing.assert_allclose(wide(z, training=training), narrow(z, training=training), atol=2e-5)
    assert duplicate_channels(wide) == 4 * (gf - 8)  # the 4×4 layer has 4·gf channels: the new ones are copies


def test_shares_split_each_weight_among_its_copies() -> None:
    rng = np.random.default_rng(0)
    mapping = channel_map(3, 7, rng)
    assert list(mapping[:3]) == [0, 1, 2] and set(mapping) <= {0, 1, 2}
    split = shares(mapping, (5, 7), rng)
    for c in range(3):
        np.testing.assert_allclose(split[:, mapping == c].sum(axis=1), 1.0)
    assert np.all(split > 0) and len(np.unique(split)) > 7  # random, not equal halves: the copies can grow apart
    with pytest.raises(ConfigError, match="cannot widen 4 channels to 3"):
        channel_map(4, 3, rng)


def test_fine_tuning_a_wider_generator_from_a_bundle(tiny_model, tiny_cache, tmp_path) -> None:
    """`--init-generator` with a larger gf: step 0 draws the bundle's faces, the copies grow apart in training, the
    checkpoints record the widening, and the run's average refuses to join the narrower start."""
    start = shutil.copytree(tiny_model, tmp_path / "start")
    cfg = tiny_config(z_prior="normal", init_generator=str(start), gf=12, steps=3, checkpoint_every=100)
    gan, z = DCGAN(cfg), np.random.default_rng(0).normal(size=(4, 16)).astype(np.float32)
    assert start_from_bundle(gan, start)["widened_from_gf"] == 8
    np.testing.assert_allclose(gan.generator(z), load_generator(start).generator(z), atol=2e-5)
    run = tmp_path / "wide"
    train(cfg, tiny_cache, run, progress=False)
    meta = checkpoint.read(checkpoint.resolve(run / "checkpoints"))[1]
    assert meta["init_generator"]["widened_from_gf"] == 8
    wide = load_generator(export(run, tmp_path / "wide-bundle", dtype="float32"))
    assert wide.config.gf == 12 and duplicate_channels(wide.generator) == 0
    with pytest.raises(ConfigError, match=r"widened the generator it started from \(gf 8 to 12\)"):
        export(run, tmp_path / "joined", average=[3], init_weight=2)
