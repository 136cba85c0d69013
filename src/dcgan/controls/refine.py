"""Edits that follow the face, not a global line: z optimized so the classifier's calls move as asked.

Linear boundaries in z (InterFaceGAN) are the right tool when a generator's latent space is disentangled. This
DCGAN's is not: along the fitted Smiling boundary, one step that flips the smile also changes the person for most
faces (`benchmarks/directions.py` prints both). So a named edit is solved per face instead, in the spirit of
latent optimization with a classifier (e.g. GANalyze, Goetschalckx et al. 2019; StyleCLIP's optimization, Patashnik
et al. 2021): Adam on z, projected into the prior's box, for `MIN_STEPS` steps, then on for each face still
short of half a step beyond its goal's boundary (at most `MAX_STEPS` in all: rare attributes like Beard and Bald
need more). A face that is there stops, so its result does not depend on the rest of its batch, and the faces that
stopped cost nothing more. It minimizes

    Σ_moved max(0, ±(ℓ_a* − ℓ_a(z)))²
        + HOLD_WEIGHT · Σ_held (ℓ_h(z) − ℓ_h(z₀))²  +  PIXEL_WEIGHT · mean((G(z) − G(z₀))²)

where ℓ are the classifier's calibrated log-odds and age is in tens of years. k steps up ask for ℓ_a ≥ ℓ_a*, with
ℓ_a* = max(ℓ_a(z₀), 0) + k·step (k steps down: ℓ_a ≤ min(ℓ_a(z₀), 0) − |k|·step): one step takes a face across
the boundary to log-odds ±step (p ≈ 0.88 for step 2) if it is on the other side, and further along if it is
already there. Age moves from the face's own age, `AGE_UNIT` years a step. The pixel term keeps everything the
request did not name, identity first; the hinge stops the pull once the goal is met. For the faces still short
after `MIN_STEPS`, the pixel weight halves every `PIXEL_HALF_LIFE` steps: the faces an attribute is hard for (a
man's face asked for blond hair) are let go further from their picture, while the rest keep the full anchor.
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

MIN_STEPS = 30
MAX_STEPS = 150
LEARNING_RATE = 0.05
HOLD_WEIGHT = 0.2
PIXEL_WEIGHT = 120.0
AGE_UNIT = 10.0  # years per age "logit"
PIXEL_HALF_LIFE = 30.0  # steps after MIN_STEPS over which a face still short halves its pixel weight


class Refiner:
    """Solves named edits for a generator and a classifier (both Keras models) with calibrated offsets."""

    def __init__(self, generator, classifier, offsets: np.ndarray, age_scale: dict, low: float, high: float) -> None:
        self.generator, self.classifier = generator, classifier
        self.offsets = tf.constant(offsets, tf.float32)
        self.age_mean, self.age_std = float(age_scale["mean"]), float(age_scale["std"])
        self.low, self.high = low, high
        self._solve = tf.function(self._solve_graph, reduce_retracing=True)

    def scores(self, z: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """(calibrated logits with age in tens of years as the last column, images in [0, 255])."""
        images = (tf.cast(self.generator(z, training=False), tf.float32) + 1.0) * 127.5
        side = self.classifier.input_shape[1]
        seen = images if images.shape[1] == side else tf.image.resize(images, (side, side), antialias=True)
        out = self.classifier(seen, training=False)
        age = (out["age"] * self.age_std + self.age_mean) / AGE_UNIT
        return tf.concat([out["attributes"] - self.offsets, age], axis=1), images

    def _solve_graph(
        self,
        z0: tf.Tensor,
        amounts: tf.Tensor,
        steps: tf.Tensor,
        relative: tf.Tensor,
        held: tf.Tensor,
        max_steps: tf.Tensor,
    ) -> tuple:
        start, images0 = self.scores(z0)
        moved = tf.cast(amounts != 0, tf.float32)
        sign = tf.sign(amounts)
        across = tf.where(amounts > 0, tf.maximum(start, 0.0), tf.minimum(start, 0.0))
        target = tf.where(relative > 0, start, across) + amounts * steps
        half_way = 0.5 * tf.abs(amounts * steps)  # a face is there when each move is half a step beyond
        z, m, v = z0, tf.zeros_like(z0), tf.zeros_like(z0)
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        t = tf.constant(0)
        active = tf.range(tf.shape(z0)[0])  # the faces still moving; the others keep their z
        while t < max_steps and tf.size(active) > 0:
            tf.autograph.experimental.set_loop_options(shape_invariants=[(active, tf.TensorShape([None]))])
            t += 1
            pick = functools.partial(tf.gather, indices=active)
            late = tf.cast(tf.maximum(t - MIN_STEPS, 0), tf.float32)
            pixel_weight = PIXEL_WEIGHT * 0.5 ** (late / PIXEL_HALF_LIFE)  # only the faces still short are here
            zi = pick(z)
            with tf.GradientTape() as tape:
                tape.watch(zi)
                scores, images = self.scores(zi)
                short = pick(moved) * tf.nn.relu(pick(sign) * (pick(target) - scores))
                loss = tf.reduce_sum(short**2, axis=1)
                loss += HOLD_WEIGHT * tf.reduce_sum(pick(held) * (scores - pick(start)) ** 2, axis=1)
                loss += pixel_weight * tf.reduce_mean(((images - pick(images0)) / 127.5) ** 2, axis=[1, 2, 3])
                total = tf.reduce_sum(loss)
            grad = tape.gradient(total, zi)
            mi = beta1 * pick(m) + (1 - beta1) * grad
            vi = beta2 * pick(v) + (1 - beta2) * grad**2
            step = tf.cast(t, tf.float32)
            update = LEARNING_RATE * (mi / (1 - beta1**step)) / (tf.sqrt(vi / (1 - beta2**step)) + eps)
            # a face that is there after MIN_STEPS stops as it is (these scores are of zi, before this update)
            there = tf.logical_and(t > MIN_STEPS, tf.reduce_all(short <= pick(half_way), axis=1))
            new_z = tf.where(there[:, None], zi, tf.clip_by_value(zi - update, self.low, self.high))
            at = active[:, None]
            z = tf.tensor_scatter_nd_update(z, at, new_z)
            m = tf.tensor_scatter_nd_update(m, at, mi)
            v = tf.tensor_scatter_nd_update(v, at, vi)
            active = tf.boolean_mask(active, tf.logical_not(there))
        final, _ = self.scores(z)
        missed = tf.norm(moved * tf.nn.relu(sign * (target - final)), axis=1)
        return z, tf.norm(moved * (target - start), axis=1), missed

    def solve(
        self,
        z0: np.ndarray,
        amounts: np.ndarray,
        steps: np.ndarray,
        relative: np.ndarray,
        held: np.ndarray,
        max_steps: int = MAX_STEPS,
    ) -> tuple[np.ndarray, np.ndarray]:
        """z (N×dim) for `amounts` (N×scores, slider steps; 0: not moved) of `steps` (scores) each, `relative`
        (scores: 1 where a move starts from the face's own score, as age does), `held` (N×scores mask); and the
        share of each face's asked change that was not reached. `max_steps` ≤ `MIN_STEPS`: that many steps for
        every face, none going on (for changes that need no exact goal)."""
        arrays = (tf.constant(a, tf.float32) for a in (z0, amounts, steps, relative, held))
        z, asked, missed = (t.numpy() for t in self._solve(*arrays, tf.constant(max_steps, tf.int32)))
        lost = np.divide(missed, asked, out=np.zeros_like(asked), where=asked > 0)
        return z.astype(np.float32), np.minimum(lost, 1.0).astype(np.float32)
