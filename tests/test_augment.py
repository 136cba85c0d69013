"""DiffAugment: each transform does what the paper says, is differentiable, seeded and replica-consistent."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import tiny_config

from dcgan.augment import TRANSFORMS, diff_augment
from dcgan.config import AUGMENTATIONS
from dcgan.errors import ConfigError
from dcgan.model import DCGAN

SEED = tf.constant([3, 7], tf.int64)


def images(n: int = 16, size: int = 64, seed: int = 0) -> tf.Tensor:
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3)).astype(np.float32))


def test_config_parses_and_rejects_policies() -> None:
    assert set(TRANSFORMS) == set(AUGMENTATIONS)
    assert tiny_config(augment=" color, cutout").augment_policy == ("color", "cutout")
    assert tiny_config().augment_policy == ()
    with pytest.raises(ConfigError, match="augment: unknown flip"):
        tiny_config(augment="color,flip")


def test_empty_policy_is_identity() -> None:
    x = images(4)
    assert diff_augment(x, (), SEED) is x


def test_translation_shifts_whole_images_with_zero_fill() -> None:
    x = images(32, 32)
    out = diff_augment(x, ("translation",), SEED).numpy()
    padded = np.pad(x.numpy(), [(0, 0), (4, 4), (4, 4), (0, 0)])  # ratio 1/8 of 32 → shifts of -4..4
    shifts = []
    for i in range(len(out)):
        matches = [
            (dy, dx)
            for dy in range(-4, 5)
            for dx in range(-4, 5)
            if np.array_equal(out[i], padded[i, 4 - dy : 36 - dy, 4 - dx : 36 - dx])
        ]
        assert len(matches) == 1, f"image {i} is not one translation of its input"
        shifts.append(matches[0])
    assert len(set(shifts)) > 5  # per-image draws


def test_cutout_zeroes_one_square_of_half_the_side() -> None:
    out = diff_augment(tf.ones((64, 64, 64, 3)), ("cutout",), SEED).numpy()
    assert np.array_equal(out[..., 0], out[..., 2])  # the same square in every channel
    sides = []
    for mask in out[..., 0] == 0:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].all()  # one filled rectangle
        assert mask.sum() == len(rows) * len(cols)
        sides += [len(rows), len(cols)]
    assert min(sides) >= 16 and max(sides) == 32  # 32×32, clipped to at least half at the borders


def test_color_on_grey_images_is_a_per_image_affine_map() -> None:
    grey = np.random.default_rng(1).uniform(-1, 1, (8, 16, 16, 1)).astype(np.float32).repeat(3, axis=3)
    out = diff_augment(tf.constant(grey), ("color",), SEED).numpy()
    slopes = []
    for before, after in zip(grey, out, strict=True):
        slope, intercept = np.polyfit(before.ravel(), after.ravel(), 1)
        np.testing.assert_allclose(after, slope * before + intercept, atol=1e-4)  # saturation is a no-op on grey
        slopes.append(slope)
    assert min(slopes) >= 0.5 and max(slopes) <= 1.5 and np.ptp(slopes) > 0.1  # contrast ×[0.5, 1.5]


def test_seeded_and_differentiable() -> None:
    x = images(8, 32)
    policy = tuple(AUGMENTATIONS)
    np.testing.assert_array_equal(diff_augment(x, policy, SEED), diff_augment(x, policy, SEED))
    assert not np.array_equal(diff_augment(x, policy, SEED), diff_augment(x, policy, SEED + 1))
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(diff_augment(x, policy, SEED) ** 2)
    grad = tape.gradient(loss, x).numpy()
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 0


def test_replicas_transform_their_rows_as_the_global_batch() -> None:
    x = images(8, 32)
    policy = tuple(AUGMENTATIONS)
    whole = diff_augment(x, policy, SEED).numpy()
    for replica in range(2):
        part = diff_augment(x[replica::2], policy, SEED, replica, 2).numpy()
        np.testing.assert_allclose(part, whole[replica::2], atol=1e-6)


def test_train_step_shows_d_augmented_images() -> None:
    """Same weights and batch: D's outputs change with augmentation on, and only then."""
    batch = (tf.constant(np.random.default_rng(0).integers(0, 255, (8, 32, 32, 3), np.uint8)), tf.constant(0, tf.int64))
    logs = {}
    for name, augment in (("plain", ""), ("again", ""), ("augmented", "color,translation,cutout")):
        keras.utils.set_random_seed(5)
        gan = DCGAN(tiny_config(augment=augment))  # held: a tf.function method keeps only a weak ref to self
        logs[name] = {k: float(v) for k, v in gan.train_step(batch).items()}
    assert logs["plain"] == logs["again"]
    assert logs["augmented"]["d_real"] != logs["plain"]["d_real"]
    assert all(np.isfinite(v) for v in logs["augmented"].values())
