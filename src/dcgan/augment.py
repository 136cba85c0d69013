"""Differentiable augmentation of D's inputs (DiffAugment, Zhao et al. 2020, arXiv 2006.10738).

The same random transforms are applied to real and fake images wherever D sees them, in D's and in G's
update, so D cannot memorise the few thousand training faces while G still learns the unaugmented
distribution (the transforms are differentiable, so G's gradient flows through them). The transforms and
their strengths are the paper's: brightness ±0.5, saturation ×[0, 2], contrast ×[0.5, 1.5], translation
by up to 1/8 of the image with zero fill, and a cutout square of half the image side.

Every draw is a pure function of a stateless seed (exact resume) and is made for the whole global batch,
of which a replica takes its rows, so replicas under `tf.distribute` transform each image as one device would.
"""

from __future__ import annotations

import tensorflow as tf

TRANSLATION_RATIO = 0.125
CUTOUT_RATIO = 0.5


def _uniform(seed: tf.Tensor, rows: tf.Tensor, shape: list, minval, maxval, dtype=tf.float32) -> tf.Tensor:
    """Draws for every image of the global batch, then the rows this replica holds."""
    return tf.gather(tf.random.stateless_uniform(shape, seed, minval, maxval, dtype=dtype), rows)


def color(x: tf.Tensor, seed: tf.Tensor, rows: tf.Tensor, total: tf.Tensor) -> tf.Tensor:
    """Random brightness, saturation and contrast per image (images in [-1, 1])."""
    seeds = tf.random.experimental.stateless_split(seed, 3)
    shape = tf.stack([total, 1, 1, 1])
    x = x + _uniform(seeds[0], rows, shape, -0.5, 0.5)
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * _uniform(seeds[1], rows, shape, 0.0, 2.0) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * _uniform(seeds[2], rows, shape, 0.5, 1.5) + mean


def translation(x: tf.Tensor, seed: tf.Tensor, rows: tf.Tensor, total: tf.Tensor) -> tf.Tensor:
    """Shift each image by whole pixels, up to 1/8 of its size each way, filling with zeros."""
    height, width = x.shape[1], x.shape[2]
    seeds = tf.random.experimental.stateless_split(seed, 2)
    shift_h, shift_w = int(height * TRANSLATION_RATIO + 0.5), int(width * TRANSLATION_RATIO + 0.5)
    dy = _uniform(seeds[0], rows, tf.stack([total, 1]), -shift_h, shift_h + 1, tf.int32)
    dx = _uniform(seeds[1], rows, tf.stack([total, 1]), -shift_w, shift_w + 1, tf.int32)
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])  # index 0 and size+1 are the zero fill
    source_rows = tf.clip_by_value(tf.range(height)[None] - dy + 1, 0, height + 1)
    source_cols = tf.clip_by_value(tf.range(width)[None] - dx + 1, 0, width + 1)
    x = tf.gather(padded, source_rows, axis=1, batch_dims=1)
    return tf.gather(x, source_cols, axis=2, batch_dims=1)


def cutout(x: tf.Tensor, seed: tf.Tensor, rows: tf.Tensor, total: tf.Tensor) -> tf.Tensor:
    """Zero a square of half the image side at a random centre (clipped at the borders)."""
    height, width = x.shape[1], x.shape[2]
    seeds = tf.random.experimental.stateless_split(seed, 2)
    size_h, size_w = int(height * CUTOUT_RATIO + 0.5), int(width * CUTOUT_RATIO + 0.5)
    top = _uniform(seeds[0], rows, tf.stack([total, 1]), 0, height + 1 - size_h % 2, tf.int32) - size_h // 2
    left = _uniform(seeds[1], rows, tf.stack([total, 1]), 0, width + 1 - size_w % 2, tf.int32) - size_w // 2
    ys, xs = tf.range(height)[None], tf.range(width)[None]
    in_rows = (ys >= top) & (ys < top + size_h)
    in_cols = (xs >= left) & (xs < left + size_w)
    keep = 1.0 - tf.cast(in_rows[:, :, None] & in_cols[:, None, :], x.dtype)
    return x * keep[..., None]


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(
    x: tf.Tensor, policy: tuple[str, ...], seed: tf.Tensor, replica: tf.Tensor | int = 0, num_replicas: int = 1
) -> tf.Tensor:
    """Apply the transforms of `policy` in order to images x (N×H×W×C in [-1, 1]).

    With replicas, x holds rows replica::num_replicas of a global batch of N·num_replicas images, and the
    draws are those of the global batch.
    """
    if not policy:
        return x
    total = tf.shape(x)[0] * num_replicas
    rows = tf.range(tf.shape(x)[0]) * num_replicas + replica
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), len(policy))
    for i, name in enumerate(policy):
        x = TRANSFORMS[name](x, seeds[i], rows, total)
    return x
