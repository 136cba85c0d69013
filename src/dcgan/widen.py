"""A wider generator (larger `gf`) that draws exactly the faces of a narrower one: Net2WiderNet.

Chen, Goodfellow & Shlens, "Net2Net: Accelerating Learning via Knowledge Transfer" (ICLR 2016), section 2.3: each
hidden layer's new channels copy existing ones (their incoming weights, BN parameters and BN statistics), and the
next layer's weights from a copied channel are shared among its copies so that they sum to the original. Copies
have equal activations, so G's output is unchanged, in inference and in training mode (a copy's batch statistics
are its original's). The shares are random per weight, not equal halves: the copies then get different gradients
and can grow apart in training, where an equal split would keep them identical (the paper adds noise instead).

`dcgan train --init-generator BUNDLE --gf WIDER` starts from it, so the question "does a wider G pay for its cost"
can be measured by fine-tuning both widths from the same faces.
"""

from __future__ import annotations

import keras
import numpy as np

from dcgan.errors import ConfigError
from dcgan.model import num_resamplings


def channel_map(old: int, new: int, rng: np.random.Generator) -> np.ndarray:
    """For each of `new` channels the old channel it copies: the first `old` are themselves, the others random."""
    if new < old:
        raise ConfigError(f"cannot widen {old} channels to {new}: a wider layer must not have fewer")
    return np.concatenate([np.arange(old), rng.integers(0, old, new - old)])


def shares(mapping: np.ndarray, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Random positive weights of `shape` (last axis: the new channels) that sum to 1 over the copies of each old
    channel, for every index of the other axes."""
    one_hot = np.eye(mapping.max() + 1)[mapping]  # new × old
    raw = rng.uniform(0.5, 1.5, shape)
    return raw / ((raw @ one_hot) @ one_hot.T)


def widen_inputs(kernel: np.ndarray, mapping: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A kernel whose last axis reads the layer below, for that layer widened by `mapping`."""
    taken = kernel[..., mapping]
    return taken * shares(mapping, taken.shape, rng)


def widen_batch_norm(narrow: keras.Model, wide: keras.Model, name: str, rng: np.random.Generator) -> np.ndarray:
    """Copy BN layer `name` (parameters and statistics) into its wider twin; returns the channel map it drew."""
    bn = narrow.get_layer(name)
    mapping = channel_map(bn.gamma.shape[0], wide.get_layer(name).gamma.shape[0], rng)
    wide.get_layer(name).set_weights([w[mapping] for w in bn.get_weights()])
    return mapping


def widen_generator(narrow: keras.Model, wide: keras.Model, seed: int = 0) -> None:
    """Set `wide`'s weights (built with a larger gf, the same image size, z and channels) from `narrow`'s, so that
    both map every z to the same image (float32 round-off aside)."""
    rng = np.random.default_rng(seed)
    n = num_resamplings(narrow.output_shape[1])
    mapping = widen_batch_norm(narrow, wide, "project_bn", rng)
    (project,) = narrow.get_layer("project").get_weights()  # z → 4×4×channels, flattened
    z_dim, old = project.shape[0], project.shape[1] // 16
    wide.get_layer("project").set_weights([project.reshape(z_dim, 16, old)[..., mapping].reshape(z_dim, -1)])
    for i in range(1, n + 1):
        kernel, *bias = narrow.get_layer(f"deconv{i}").get_weights()  # (5, 5, out, in); the last layer has a bias
        kernel = widen_inputs(kernel, mapping, rng)
        if i < n:
            mapping = widen_batch_norm(narrow, wide, f"deconv{i}_bn", rng)
            kernel = kernel[:, :, mapping, :]
        wide.get_layer(f"deconv{i}").set_weights([kernel, *bias])
